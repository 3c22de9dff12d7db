"""Words and colours of the synthetic web: shape and colour names in four languages.

Foreign captions use constructions that need no adjective agreement ("Kreis in Rot",
"une étoile de couleur verte", "un círculo de color rojo"), so one word per colour suffices.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "de", "fr", "es")
"""Caption languages; English first, the rest make up the foreign share."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 32, 38),
    "green": (38, 158, 62),
    "blue": (34, 76, 206),
    "yellow": (246, 214, 36),
    "orange": (244, 128, 24),
    "purple": (128, 48, 168),
    "pink": (244, 134, 192),
    "white": (246, 246, 246),
    "black": (22, 22, 22),
    "brown": (122, 76, 36),
    "grey": (128, 128, 128),
}

SHAPES = (
    "circle",
    "square",
    "triangle",
    "star",
    "hexagon",
    "diamond",
    "cross",
    "ring",
    "heart",
    "crescent",
)


@dataclass(frozen=True)
class Noun:
    """A shape's name in one language: article, singular and plural."""

    article: str
    singular: str
    plural: str


_NOUNS: dict[str, dict[str, Noun]] = {
    "en": {
        "circle": Noun("a", "circle", "circles"),
        "square": Noun("a", "square", "squares"),
        "triangle": Noun("a", "triangle", "triangles"),
        "star": Noun("a", "star", "stars"),
        "hexagon": Noun("a", "hexagon", "hexagons"),
        "diamond": Noun("a", "diamond", "diamonds"),
        "cross": Noun("a", "cross", "crosses"),
        "ring": Noun("a", "ring", "rings"),
        "heart": Noun("a", "heart", "hearts"),
        "crescent": Noun("a", "crescent", "crescents"),
    },
    "de": {
        "circle": Noun("ein", "Kreis", "Kreise"),
        "square": Noun("ein", "Quadrat", "Quadrate"),
        "triangle": Noun("ein", "Dreieck", "Dreiecke"),
        "star": Noun("ein", "Stern", "Sterne"),
        "hexagon": Noun("ein", "Sechseck", "Sechsecke"),
        "diamond": Noun("eine", "Raute", "Rauten"),
        "cross": Noun("ein", "Kreuz", "Kreuze"),
        "ring": Noun("ein", "Ring", "Ringe"),
        "heart": Noun("ein", "Herz", "Herzen"),
        "crescent": Noun("ein", "Halbmond", "Halbmonde"),
    },
    "fr": {
        "circle": Noun("un", "cercle", "cercles"),
        "square": Noun("un", "carré", "carrés"),
        "triangle": Noun("un", "triangle", "triangles"),
        "star": Noun("une", "étoile", "étoiles"),
        "hexagon": Noun("un", "hexagone", "hexagones"),
        "diamond": Noun("un", "losange", "losanges"),
        "cross": Noun("une", "croix", "croix"),
        "ring": Noun("un", "anneau", "anneaux"),
        "heart": Noun("un", "cœur", "cœurs"),
        "crescent": Noun("un", "croissant", "croissants"),
    },
    "es": {
        "circle": Noun("un", "círculo", "círculos"),
        "square": Noun("un", "cuadrado", "cuadrados"),
        "triangle": Noun("un", "triángulo", "triángulos"),
        "star": Noun("una", "estrella", "estrellas"),
        "hexagon": Noun("un", "hexágono", "hexágonos"),
        "diamond": Noun("un", "rombo", "rombos"),
        "cross": Noun("una", "cruz", "cruces"),
        "ring": Noun("un", "anillo", "anillos"),
        "heart": Noun("un", "corazón", "corazones"),
        "crescent": Noun("una", "media luna", "medias lunas"),
    },
}

_COLOUR_WORDS: dict[str, dict[str, str]] = {
    "en": {name: name for name in COLOURS},
    "de": {
        "red": "Rot",
        "green": "Grün",
        "blue": "Blau",
        "yellow": "Gelb",
        "orange": "Orange",
        "purple": "Lila",
        "pink": "Rosa",
        "white": "Weiß",
        "black": "Schwarz",
        "brown": "Braun",
        "grey": "Grau",
    },
    "fr": {
        "red": "rouge",
        "green": "verte",
        "blue": "bleue",
        "yellow": "jaune",
        "orange": "orange",
        "purple": "violette",
        "pink": "rose",
        "white": "blanche",
        "black": "noire",
        "brown": "marron",
        "grey": "grise",
    },
    "es": {
        "red": "rojo",
        "green": "verde",
        "blue": "azul",
        "yellow": "amarillo",
        "orange": "naranja",
        "purple": "morado",
        "pink": "rosa",
        "white": "blanco",
        "black": "negro",
        "brown": "marrón",
        "grey": "gris",
    },
}

_NUMBERS: dict[str, tuple[str, ...]] = {
    "en": ("zero", "one", "two", "three", "four"),
    "de": ("null", "eins", "zwei", "drei", "vier"),
    "fr": ("zéro", "un", "deux", "trois", "quatre"),
    "es": ("cero", "uno", "dos", "tres", "cuatro"),
}


def noun(shape: str, lang: str) -> Noun:
    """The name of `shape` in `lang`."""
    return _NOUNS[lang][shape]


def colour_word(colour: str, lang: str) -> str:
    """The word for `colour` in `lang`, in the form the caption templates use."""
    return _COLOUR_WORDS[lang][colour]


def number_word(count: int, lang: str) -> str:
    """The word for a small object count (up to four) in `lang`."""
    return _NUMBERS[lang][count]
