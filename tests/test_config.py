"""Config files: validated with the stage commands' own argument types, one line per problem."""

import pytest
import yaml

from wit_pipeline.cli import main
from wit_pipeline.config import config_from_dict, load_config
from wit_pipeline.core.errors import InputError

BASE = {"scrape": {"sources": ["pages/"]}}


def _error(data) -> str:
    with pytest.raises(InputError) as info:
        config_from_dict(data, "cfg.yaml")
    return str(info.value)


def test_defaults_fill_every_option():
    config = config_from_dict(BASE, "cfg.yaml")
    assert config.stages()[:4] == ["scrape", "download", "filter", "shard"]
    assert config.sections["filter"].dedupe_distance == 8
    assert config.sections["shard"].samples_per_shard == 10_000
    assert config.sections["scrape"].sources == ["pages/"]


def test_values_are_converted_like_the_command_line():
    config = config_from_dict(
        {**BASE, "filter": {"min-clip-score": 0.28, "clip_model": "none"}, "shard": {"seed": 3}},
        "cfg.yaml",
    )
    assert config.sections["filter"].min_clip_score == 0.28
    assert config.sections["filter"].clip_model == "none"
    assert config.sections["shard"].seed == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**BASE, "filter": {"min_clip_scor": 0.3}},
            "cfg.yaml: filter.min_clip_scor: unknown key (did you mean filter.min_clip_score?)",
        ),
        ({**BASE, "colour": 1}, "cfg.yaml: colour: unknown key"),
        (
            {**BASE, "shard": {"samples_per_shard": "many"}},
            "cfg.yaml: shard.samples_per_shard: invalid value 'many'",
        ),
        (
            {**BASE, "shard": {"samples_per_shard": 0}},
            "shard.samples_per_shard: invalid value 0 (must be at least 1, got 0)",
        ),
        (
            {**BASE, "filter": {"device": "tpu"}},
            "filter.device: 'tpu' is not one of auto, cpu, cuda",
        ),
        ({**BASE, "download": {"overwrite": "yes"}}, "download.overwrite: expected true or false"),
        ({"scrape": {"rate": 3}}, "cfg.yaml: scrape.sources: required"),
        ({"scrape": {"sources": "one.html"}}, "scrape.sources: expected a non-empty list"),
        ({**BASE, "engine": "spark"}, "cfg.yaml: engine: 'spark' is not one of local, ray"),
        ({**BASE, "filter": [1, 2]}, "cfg.yaml: filter: expected a mapping of options"),
        ([1, 2], "cfg.yaml: a config is a mapping of keys"),
    ],
)
def test_bad_configs_get_one_line_naming_the_key(data, message):
    text = _error(data)
    assert message in text
    assert "\n" not in text


def test_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("scrape:\n  sources: [a\nfilter: {\n")
    with pytest.raises(InputError, match=r"cfg.yaml: line \d+: not valid YAML"):
        load_config(path)


def test_run_with_a_bad_config_exits_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"workdir": str(tmp_path / "w"), "scrape": {"sourcez": [1]}}))
    assert main(["run", str(path)]) == 2
    assert "scrape.sourcez: unknown key (did you mean scrape.sources?)" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_the_printed_default_config_loads_once_sources_are_given(tmp_path, capsys):
    assert main(["run", "--print-default-config"]) == 0
    text = capsys.readouterr().out
    assert "#   min_clip_score: null  # drop pairs below this cosine" in text
    assert "# report:  # optional: uncomment to run it" in text
    path = tmp_path / "cfg.yaml"
    path.write_text(text.replace("sources: [REQUIRED]", "sources: [pages/]"))
    config = load_config(path)
    assert config.sections["scrape"].sources == ["pages/"]
    assert config == config_from_dict(BASE, str(path))


def test_conflicting_options_fail_at_load_before_any_stage_runs(tmp_path, capsys):
    """filter's cross-field rules live in its Options, so a config breaking one is refused
    before scrape and download run (it used to fail at filter, after them)."""
    path = tmp_path / "cfg.yaml"
    data = {
        "workdir": str(tmp_path / "w"),
        **BASE,
        "filter": {"min_clip_score": 0.28, "keep_fraction": 0.3},
    }
    path.write_text(yaml.safe_dump(data))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("cfg.yaml: give --min-clip-score or --keep-fraction, not both")
    assert "\n" not in err
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"score_only": True, "dry_run": True}, "--score-only cannot go with --decide-only"),
        ({"keep_fraction": 1.5}, "--keep-fraction 1.5: must be in (0, 1]"),
        ({"min_clip_score": "nan"}, "filter.min_clip_score: invalid value 'nan'"),
    ],
)
def test_a_section_is_checked_by_its_stage_rules(section, message):
    assert message in _error({**BASE, "filter": section})


def test_a_stage_command_and_a_config_share_their_options():
    """The flags of a stage command and the keys of its config section are one list."""
    from wit_pipeline.cli import build_parser
    from wit_pipeline.core.options import fields_of
    from wit_pipeline.stages import PIPELINE

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for stage in PIPELINE:
        flags = {a.dest for a in commands[stage.name]._actions} - {"help"}
        keys = {f.name for f in fields_of(stage.options)}
        assert keys <= flags, stage.name
        assert flags - keys <= {"workdir", "verbose", "quiet", "log_json", "engine",
                                "ray_address", "gpus_per_task"}, stage.name  # fmt: skip
