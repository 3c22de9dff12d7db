"""Captions that describe a scene truthfully, in varied wording, in English, German, French or
Spanish. Every caption of a colour image names each shape and colour of the scene."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import rand
from .scene import Background, Scene
from .vocab import colour_word, noun, number_word

_PATTERN_WORDS = {"stripes": "striped", "checks": "checkered", "speckles": "speckled"}


def _a(phrase: str) -> str:
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _en_background(bg: Background, rng: np.random.Generator) -> str:
    if bg.kind == "plain":
        return bg.colours[0]
    if bg.kind == "gradient":
        return rand.pick(rng, (f"{bg.colours[0]} and {bg.colours[1]} gradient", "gradient"))
    if bg.kind == "texture":
        return _PATTERN_WORDS[bg.pattern or "stripes"]
    return "transparent"


def _english(scene: Scene, rng: np.random.Generator) -> list[str]:
    objs = scene.objects
    n = number_word(len(objs), "en")
    names = [noun(o.shape, "en") for o in objs]
    if scene.monochrome:
        if scene.layout == "single":
            shape = names[0].singular
            sized = f"{scene.size_word} {shape}" if scene.size_word else shape
            return [
                f"a black and white photo of {_a(sized)}",
                f"{_a(shape)} in greyscale",
                f"monochrome picture of {_a(shape)}",
            ]
        if scene.layout == "group":
            many = f"{n} {names[0].plural}"
            return [f"{many} in black and white", f"a greyscale photo of {many}"]
        return [f"{_a(names[0].singular)} and {_a(names[1].singular)} in black and white"]
    bg = _en_background(scene.background, rng)
    things = [f"{o.colour} {name.singular}" for o, name in zip(objs, names, strict=True)]
    if scene.layout == "single":
        sized = f"{scene.size_word} {things[0]}" if scene.size_word else things[0]
        where = f"on the {scene.position_word}"
        if scene.position_word == "middle":
            where = "in the middle"
        return [
            _a(sized),
            f"{_a(sized)} on {_a(bg)} background",
            f"photo of {_a(things[0])}",
            f"{_a(things[0])} {where}",
            f"close-up of {_a(sized)} against {_a(bg)} backdrop",
            f"a simple drawing of {_a(things[0])}",
            f"a child's drawing of {_a(things[0])}",
            f"{things[0]} on {bg} background",
        ]
    if scene.layout == "group":
        many = f"{objs[0].colour} {names[0].plural}"
        return [
            f"{n} {many}",
            f"{n} {many} on {_a(bg)} background",
            f"a group of {n} {many}",
            f"photo of {n} {many}",
        ]
    return [
        f"{_a(things[0])} and {_a(things[1])}",
        f"{_a(things[0])} next to {_a(things[1])}",
        f"{things[0]} & {things[1]} on {_a(bg)} background",
    ]


def _german(scene: Scene, rng: np.random.Generator) -> list[str]:
    objs = scene.objects
    names = [noun(o.shape, "de") for o in objs]
    one = [f"{name.article} {name.singular}" for name in names]
    if scene.monochrome:
        if scene.layout == "group":
            return [f"{number_word(len(objs), 'de')} {names[0].plural} in Schwarz-Weiß"]
        return [f"Schwarzweißfoto: {' und '.join(one)}", f"{' und '.join(one)} in Schwarz-Weiß"]
    colours = [colour_word(o.colour, "de") for o in objs]
    if scene.layout == "group":
        many = f"{number_word(len(objs), 'de')} {names[0].plural} in {colours[0]}"
        return [many, f"Foto: {many}"]
    if scene.layout == "pair":
        return [f"{one[0]} in {colours[0]} und {one[1]} in {colours[1]}"]
    options = [f"{one[0]} in {colours[0]}", f"Foto: {names[0].singular} in {colours[0]}"]
    if scene.background.kind == "plain":
        bg = colour_word(scene.background.colours[0], "de")
        options.append(f"{one[0]} in {colours[0]} vor einem Hintergrund in {bg}")
    return options


def _romance(lang: str, words: dict[str, str]) -> Callable[[Scene, np.random.Generator], list[str]]:
    def build(scene: Scene, rng: np.random.Generator) -> list[str]:
        objs = scene.objects
        names = [noun(o.shape, lang) for o in objs]
        one = [f"{name.article} {name.singular}" for name in names]
        if scene.monochrome:
            if scene.layout == "group":
                return [f"{number_word(len(objs), lang)} {names[0].plural} {words['mono']}"]
            joined = f" {words['and']} ".join(one)
            return [f"{joined} {words['mono']}"]
        coloured = [
            f"{name} {words['of_colour']} {colour_word(o.colour, lang)}"
            for name, o in zip(one, objs, strict=True)
        ]
        if scene.layout == "group":
            colour = colour_word(objs[0].colour, lang)
            many = f"{number_word(len(objs), lang)} {names[0].plural} {words['of_colour']} {colour}"
            return [many, f"{words['photo_of']} {many}"]
        if scene.layout == "pair":
            return [f" {words['and']} ".join(coloured)]
        options = [coloured[0], f"{words['photo_of_one']}{coloured[0]}"]
        if scene.background.kind == "plain":
            bg = colour_word(scene.background.colours[0], lang)
            options.append(f"{coloured[0]} {words['on_background']} {bg}")
        return options

    return build


_BUILDERS: dict[str, Callable[[Scene, np.random.Generator], list[str]]] = {
    "en": _english,
    "de": _german,
    "fr": _romance(
        "fr",
        {
            "and": "et",
            "mono": "en noir et blanc",
            "of_colour": "de couleur",
            "photo_of": "photo de",
            "photo_of_one": "photo d'",
            "on_background": "sur un fond de couleur",
        },
    ),
    "es": _romance(
        "es",
        {
            "and": "y",
            "mono": "en blanco y negro",
            "of_colour": "de color",
            "photo_of": "foto de",
            "photo_of_one": "foto de ",
            "on_background": "sobre un fondo de color",
        },
    ),
}


def caption(scene: Scene, lang: str, rng: np.random.Generator) -> str:
    """A true caption of `scene` in `lang`, wording and capitalisation drawn from `rng`."""
    text = rand.pick(rng, _BUILDERS[lang](scene, rng))
    if lang == "de" or rng.random() < 0.3:
        return text[0].upper() + text[1:]
    return text
