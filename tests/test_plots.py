import matplotlib.image

from portraitnet.evaluation import plots
from portraitnet.evaluation.plots import plot_curves


def test_curves_of_a_lineage_whose_runs_logged_different_loss_terms(tmp_path):
    """A warm-started run may log a term its predecessor did not (or the other way round): a gap, not a crash."""
    records = [{"epoch": 1, "loss": 0.3, "ce": 0.1, "edge": 0.03, "val_iou": 0.85, "cycle": 1},
               {"epoch": 2, "loss": 0.2, "ce": 0.09, "val_iou": 0.87, "cycle": 2},
               {"epoch": 3, "loss": 0.19, "ce": 0.08, "iou": 0.2, "val_iou": 0.88, "cycle": 2}]
    plot_curves(records, tmp_path / "curves.png")
    assert matplotlib.image.imread(tmp_path / "curves.png").shape[:2] == (400, 1100)


def test_curves_of_a_run_with_held_out_sets_are_drawn_against_samples_seen(tmp_path):
    """A run scoring several held-out sets gets a third panel; samples seen are the x axis when every record says."""
    records = [{"epoch": e, "loss": 0.3 / e, "val_iou": 0.8 + e / 100, "val_iou_main": 0.9, "val_iou_lsp_people": 0.7,
                "samples_seen": 9321 * e, "fresh_bn_statistics": e > 2} for e in range(1, 5)]
    plot_curves(records, tmp_path / "curves.png")
    assert matplotlib.image.imread(tmp_path / "curves.png").shape[:2] == (400, 1650)


def test_a_reference_model_is_drawn_as_flat_lines_in_the_colour_of_each_set(tmp_path, monkeypatch):
    """The shipped model's scores as flat lines: each set's in its curve's colour, the selection bar kept in view
    even when it lies above every epoch (the late epochs set the axis)."""
    figures = []
    monkeypatch.setattr(plots.plt, "close", figures.append)
    records = [{"epoch": e, "loss": 0.3 / e, "val_iou": 0.8 + e / 1000, "val_iou_main": 0.9, "val_iou_lsp_people": 0.7,
                "samples_seen": 9321 * e} for e in range(1, 31)]
    reference = {"val_iou": 0.89, "val_iou_main": 0.95, "val_iou_lsp_people": 0.75}
    plot_curves(records, tmp_path / "curves.png", reference, reference_name="shipped")
    _, selection, per_set = figures[0].axes

    def flat_lines(ax):
        return {round(line.get_ydata()[0], 6): line.get_color() for line in ax.get_lines()
                if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]}

    assert 89.0 in flat_lines(selection) and selection.get_ylim()[1] > 89.0
    colours = {line.get_label(): line.get_color() for line in per_set.get_lines()}
    assert flat_lines(per_set) == {95.0: colours["main"], 75.0: colours["lsp_people"]}
