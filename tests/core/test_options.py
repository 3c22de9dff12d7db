"""Stage options' fingerprint: what decides a stage's output, so the runner knows to rerun."""

from wit_pipeline.stages.filter.options import Options as FilterOptions


def test_an_entry_list_edited_in_place_changes_the_fingerprint(tmp_path):
    entries = tmp_path / "entries.txt"
    entries.write_text("circle\nsquare\n")
    before = FilterOptions(entries=str(entries)).fingerprint()
    entries.write_text("circle\ntriangle\n")
    after = FilterOptions(entries=str(entries)).fingerprint()
    assert before["entries"][0] == after["entries"][0] == str(entries)
    assert before["entries"] != after["entries"]


def test_a_folder_of_eval_images_is_stamped_by_its_listing(tmp_path):
    evals = tmp_path / "eval"
    evals.mkdir()
    (evals / "a.jpg").write_bytes(b"one")
    before = FilterOptions(decontaminate=str(evals)).fingerprint()
    (evals / "b.jpg").write_bytes(b"two")
    assert FilterOptions(decontaminate=str(evals)).fingerprint() != before


def test_options_that_name_no_local_file_stay_as_given(tmp_path):
    remote = FilterOptions(decontaminate="s3://bucket/eval").fingerprint()
    assert remote["decontaminate"] == "s3://bucket/eval"
    assert FilterOptions().fingerprint()["entries"] is None
