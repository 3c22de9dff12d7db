"""The plan: every URL planned once, every fault and noise kind where the config puts it."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from wit_pipeline.testweb import SyntheticWeb, WebConfig
from wit_pipeline.testweb.faults import FAULT_KINDS
from wit_pipeline.testweb.plan import NEAR_KINDS, PAGE_BOILERPLATE, build_plan
from wit_pipeline.testweb.vocab import COLOURS, SHAPES

shares = st.floats(min_value=0.0, max_value=0.15)
configs = st.builds(
    WebConfig,
    seed=st.integers(0, 2**31),
    pages=st.integers(1, 6),
    images_per_page=st.integers(1, 10),
    foreign_share=st.floats(0.0, 1.0),
    mismatch_share=st.floats(0.0, 0.5),
    exact_dup_share=shares,
    near_dup_share=shares,
    too_small_share=shares,
    extreme_aspect_share=shares,
    boilerplate_share=shares,
    faults_per_kind=st.integers(0, 2),
)


@settings(max_examples=40, deadline=None)
@given(configs)
def test_plan_invariants(config):
    plan = build_plan(config)
    images = plan.images
    assert [s.id for s in images] == list(range(len(images)))
    assert len({s.path for s in images}) == len(images)
    kinds = Counter(s.kind for s in images)
    assert all(kinds[kind] == config.faults_per_kind for kind in FAULT_KINDS)
    slots = config.pages * config.images_per_page
    assert kinds["ok"] == slots + 2
    placed = [i for page in plan.pages for i in page.items]
    assert sorted(placed) == [s.id for s in images if s.page is not None]
    assert all(images[i].page == page.index for page in plan.pages for i in page.items)
    assert [s.boilerplate for s in images if s.page is None] == ["logo", "spacer"]


@settings(max_examples=40, deadline=None)
@given(configs)
def test_duplicates_and_mismatches_are_consistent(config):
    images = build_plan(config).images
    groups: dict[int, list] = {}
    for spec in images:
        if spec.dup_group is not None:
            groups.setdefault(spec.dup_group, []).append(spec)
    for members in groups.values():
        [original] = [s for s in members if s.dup_kind == "original"]
        for copy in members:
            assert copy.scene == original.scene
            if copy.dup_kind == "exact":
                assert copy.encoding == original.encoding
            if copy.dup_kind != "original":
                assert copy.variant is not None and copy.variant.source == original.id
    mismatched = [s for s in images if s.mismatched]
    true_captions = {s.true_caption for s in mismatched}
    assert len(mismatched) % 2 == 0
    assert all(s.page_caption in true_captions for s in mismatched)
    assert all(
        s.page_caption == s.true_caption
        for s in images
        if not s.mismatched and s.boilerplate == "none"
    )


def test_every_noise_kind_appears_as_configured(testweb_web):
    images = testweb_web.plan.images
    slots = testweb_web.config.pages * testweb_web.config.images_per_page
    too_small = [s for s in images if s.noise == "too_small"]
    extreme = [s for s in images if s.noise == "extreme_aspect"]
    assert len(too_small) == round(0.06 * slots)
    assert all(max(s.encoding.width, s.encoding.height) < 40 for s in too_small)
    assert len(extreme) == round(0.06 * slots)
    assert all(
        max(s.encoding.width, s.encoding.height) / min(s.encoding.width, s.encoding.height) >= 10
        for s in extreme
    )
    dup_kinds = Counter(s.dup_kind for s in images)
    assert dup_kinds["exact"] == round(0.07 * slots)
    assert [dup_kinds[k] for k in NEAR_KINDS] == [1, 1, 1, 1]
    assert sorted(
        s.boilerplate for s in images if s.page is not None and s.boilerplate != "none"
    ) == (sorted(PAGE_BOILERPLATE))
    assert sum(s.mismatched for s in images) >= round(0.1 * slots)
    languages = Counter(s.caption_lang for s in images if s.caption_lang)
    assert set(languages) == {"en", "de", "fr", "es"}
    normal = [s for s in images if s.noise == "none" and s.dup_kind in ("none", "original")]
    assert all(
        min(s.encoding.width, s.encoding.height) >= 48
        for s in normal
        if s.boilerplate in ("none", "filename_alt", "generic_alt", "empty_alt", "no_alt")
    )


def test_formats_modes_and_sizes_vary(testweb_web):
    encodings = [s.encoding for s in testweb_web.plan.images if s.kind == "ok"]
    pairs = {(e.fmt, e.mode) for e in encodings}
    assert {("jpeg", "RGB"), ("png", "RGB"), ("webp", "RGB"), ("gif", "P")} <= pairs
    assert ("png", "RGBA") in pairs and ("png", "L") in pairs
    sides = [max(e.width, e.height) for e in encodings]
    assert min(sides) < 40 and max(sides) >= 800


def test_larger_webs_reach_every_size_band():
    encodings = [s.encoding for s in build_plan(WebConfig(pages=20)).images if s.kind == "ok"]
    longest = [max(e.width, e.height) for e in encodings]
    assert sum(side >= 800 for side in longest) >= 3
    assert sum(64 <= side < 320 for side in longest) > len(longest) / 2
    assert max(longest) <= 1600


def test_same_seed_same_plan_other_seed_other_plan():
    config = WebConfig(seed=7, pages=3)
    assert build_plan(config) == build_plan(WebConfig(seed=7, pages=3))
    assert build_plan(config) != build_plan(WebConfig(seed=8, pages=3))


def test_construction_is_cheap_and_renders_nothing():
    web = SyntheticWeb(WebConfig(pages=200))
    assert len(web.plan.images) > 1600
    assert web._cached_image.cache_info().currsize == 0


def test_a_long_tailed_pool_skews_shapes_and_colours_and_leaves_the_uniform_pool_as_it_was():
    def concepts(field: str, **knobs) -> Counter:
        rows = SyntheticWeb(WebConfig(seed=0, pages=40, **knobs)).ground_truth("http://x")
        return Counter(c for r in rows.to_pylist() if r[field] for c in r[field])

    uniform, skewed = concepts("shapes"), concepts("shapes", concept_skew=1.5)
    assert concepts("shapes", concept_skew=0.0) == uniform
    assert concepts("colours", concept_skew=0.0) == concepts("colours")
    assert max(uniform.values()) < 3 * min(uniform.values())
    assert skewed[SHAPES[0]] > 10 * skewed[SHAPES[-1]]
    assert skewed[SHAPES[0]] > skewed[SHAPES[2]] > skewed[SHAPES[6]]
    assert abs(sum(skewed.values()) - sum(uniform.values())) < 0.1 * sum(uniform.values())
    colours = list(COLOURS)
    skewed_colours = concepts("colours", concept_skew=1.5)
    assert skewed_colours[colours[0]] > 10 * skewed_colours[colours[-1]]
    assert skewed_colours[colours[0]] > skewed_colours[colours[2]] > skewed_colours[colours[6]]
