"""The notebooks under docs/notebooks: one per idea, stored without outputs, each runs top to bottom.

Each notebook is executed in a fresh Jupyter kernel (nbclient + ipykernel)
against the downhill under test, and what a learner would see is checked:
no errors, and the pictures drawn inline (figures as PNG, results as HTML
with their picture inside) without any plt.show().
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import downhill

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NAMES = ["1-derivative", "2-gradient", "3-descent", "4-chain-rule", "5-learning-rate"]

nbformat = pytest.importorskip("nbformat")


def test_one_notebook_per_idea():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook with no code teaches nothing here"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{name}: strip the outputs before committing (Jupyter: Edit > Clear Outputs of All Cells)")
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom_and_draws_inline(name):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # The kernel imports the downhill under test, wherever the tests run from.
    source = str(Path(downhill.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=env)  # raises CellExecutionError, with the cell and traceback, on any error

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    results = [o for o in outputs if "data:image/png;base64," in o.get("data", {}).get("text/html", "")]
    assert len(figures) + len(results) >= 2, f"{name}: expected pictures drawn inline"
    assert all(o.data["image/png"] for o in figures)
