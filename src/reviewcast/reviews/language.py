"""A cheap, deterministic guess of a review's language from its most common short words."""

from __future__ import annotations

import re
from collections import Counter

# The most frequent function words of each language. Some are shared ("de", "la", "que"); a
# word counts 1/k towards each of the k languages that use it, so that only the distinctive
# words decide between neighbours such as Spanish and Portuguese.
_STOPWORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and of to a in is it that this with for was on but as are be not you his her"
        " they have has from at by an its it's what there their which or just so like than one"
        " been were would can all about into when who my",
        "de": "der die das und ist nicht ein eine einen einem mit von zu den dem sich auf auch es"
        " im in für als wie aber noch nach bei wird sind war hat dass oder wenn nur schon über"
        " diese dieser man doch mehr ich sie er wir ihr sein seine durch um",
        "fr": "le la les et est un une des du de que qui dans pour pas sur avec ce cette il elle"
        " mais ou au aux son sa ses plus comme tout été sont c'est nous vous leur était je on ne"
        " se en",
        "es": "el la los las y es un una que de del en por con para no se su sus al lo como más"
        " pero este esta muy sin sobre también ya hay fue ser era yo porque cuando",
        "it": "il lo la gli le e è un una che di del della dei in per con non si sono come più ma"
        " anche questo questa nel nella alla ancora molto già ha hanno io da su",
        "nl": "de het een en is van niet dat die op met voor zijn er maar ook als aan bij nog wel"
        " naar dit deze om te wordt heeft ze je geen veel meer dan ik",
        "pt": "o a os as e é um uma que de do da dos das em no na por para com não se mais como"
        " mas seu sua ao já muito também foi são está isso eu",
    }.items()
}
_WEIGHT: dict[str, float] = {
    word: 1 / sum(word in stop for stop in _STOPWORDS.values())
    for stop in _STOPWORDS.values()
    for word in stop
}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

#: Below this many words the counts say too little to decide.
MIN_WORDS = 12


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is most likely in, or None when unsure."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    counts = Counter(words)
    scores = sorted(
        ((sum(counts[w] * _WEIGHT[w] for w in stop), code) for code, stop in _STOPWORDS.items()),
        reverse=True,
    )
    (best, code), (second, _) = scores[0], scores[1]
    # Function words are a third to a half of ordinary prose; demand a clear winner.
    if best < 0.12 * len(words) or best < 1.5 * second:
        return None
    return code
