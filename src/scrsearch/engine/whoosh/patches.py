"""Our subclasses of Whoosh queries and matchers, where Whoosh 2.7 is slow or wrong.

Nothing here changes a Whoosh class: importing scrsearch leaves Whoosh as released for other
code in the same process. The engine's query translation (`scoped`) puts these classes in
place of Whoosh's in every query it runs, and the codec's matcher (codec.FlatLeafMatcher)
carries the faster `skip_to`. Tests compare each with Whoosh's own class: the speed-up gives
exactly Whoosh's answers, only sooner; `ExcludingAndNot` fixes a wrong answer.
"""

from __future__ import annotations

from whoosh import matching
from whoosh import query as wq
from whoosh.matching.binary import AndNotMatcher
from whoosh.query.spans import Span, SpanNear2


class _AndNotMatcher(AndNotMatcher):
    """AndNotMatcher whose first match moves the excluded side up to the first candidate.

    A bug, not speed: Whoosh only checks whether the two sides start on the same document,
    so when the excluded word's postings start earlier, the first document of the wanted
    side is returned even if it holds the excluded word (`child -police` matched the first
    passage with both words).
    """

    def _find_first(self):
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class ExcludingAndNot(wq.AndNot):
    """`a ANDNOT b` (and `-word`) whose matcher never returns a document holding `b`."""

    def matcher(self, searcher, context=None):
        scoredm = self.a.matcher(searcher, context)
        notm = self.b.matcher(searcher, searcher.boolean_context())
        return _AndNotMatcher(scoredm, notm)


class _ExactSpanNear2(SpanNear2):
    """SpanNear2 whose matcher finds an exact phrase's spans with sets."""

    class SpanNear2Matcher(SpanNear2.SpanNear2Matcher):
        def _get_spans(self):
            """Spans of an exact phrase (slop 1, ordered, words adjacent).

            Whoosh pairs every span of one word with every nearby span of the next through
            Span objects, a bisect and a distance check each; an exact phrase only asks
            whether word i is at position p + i, which sets answer directly. Other span
            queries keep Whoosh's code.
            """
            ms = self.ms
            exact = getattr(self, "_exact_phrase", None)
            if exact is None:  # the matchers' formats do not change: decide once per matcher
                exact = self._exact_phrase = (
                    self.slop == 1
                    and self.ordered
                    and self.mindist == 1
                    and all(m.supports("positions") and not m.supports("characters") for m in ms)
                )
            if not exact:
                return super()._get_spans()
            starts = set(ms[0].value_as("positions"))
            for i in range(1, len(ms)):
                if not starts:
                    return []
                starts.intersection_update([p - i for p in ms[i].value_as("positions")])
            last = len(ms) - 1
            return [Span(p, p + last) for p in sorted(starts)]


class ExactPhrase(wq.Phrase):
    """Whoosh's Phrase whose matcher uses `_ExactSpanNear2` (Phrase.matcher, one class
    changed)."""

    def matcher(self, searcher, context=None):
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            raise wq.QueryError(f"Phrase search: {fieldname!r} field has no positions")
        terms = []
        reader = searcher.reader()
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (fieldname, word) not in reader:
                return matching.NullMatcher()
            terms.append(wq.Term(fieldname, word))
        m = _ExactSpanNear2(terms, slop=self.slop, ordered=True, mindist=1).matcher(
            searcher, context
        )
        if self.boost != 1.0:
            m = matching.WrappingMatcher(m, boost=self.boost)
        return m


def _ours(node: wq.Query) -> wq.Query:
    if type(node) is wq.Phrase:
        return ExactPhrase(
            node.fieldname, node.words, slop=node.slop, boost=node.boost,
            char_ranges=node.char_ranges,
        )  # fmt: skip
    if type(node) is wq.AndNot:
        ours = ExcludingAndNot(node.a, node.b)
        ours.boost = node.boost
        return ours
    return node


def scoped(q: wq.Query | None) -> wq.Query | None:
    """`q` with our Phrase and AndNot classes in place of Whoosh's (children first)."""
    return None if q is None else q.accept(_ours)
