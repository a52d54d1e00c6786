"""Write ``honestdid_port.json``: the honestdid 0.1.1 port's answers on the Benzarti & Carloni
event study of ``honestdid_r.json``, the oracle of ``tests/models/test_sensitivity.py``.

The port is not a dependency (it pulls in torch, CUDA libraries and cvxpy, several GB), so its
answers are stored; rerun this after ``pip install honestdid==0.1.1`` to regenerate them:

    python tests/models/data/make_honestdid_port.py

* ``flci``: ``createSensitivityResults(method="FLCI", Mvec=[0, 0.1], l_vec=e1)`` with the
  port's simulated folded-normal quantile replaced by the exact one (as dxkpi computes it), so
  the comparison is of the optimisation, not of simulation noise;
* ``rm_conditional``: ``createSensitivityResults_relativeMagnitudes(method="Conditional",
  Mbarvec=[1], gridPoints=30, l_vec=e1)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import honestdid
import numpy as np
from honestdid import core

from dxkpi.models.sensitivity import _folded_normal_quantile

HERE = Path(__file__).parent


def main() -> None:
    d = json.loads((HERE / "honestdid_r.json").read_text(encoding="utf-8"))["bc"]
    beta, sigma = np.array(d["betahat"]), np.array(d["sigma"])
    e1 = np.zeros(4)
    e1[0] = 1.0
    core._qfoldednormal = lambda p, mu=0.0, sd=1.0, numSims=None, seed=0: _folded_normal_quantile(
        p, float(mu)
    )
    ms = [0.0, 0.1]
    flci = core.createSensitivityResults(beta, sigma, 4, 4, method="FLCI", Mvec=ms, l_vec=e1)
    rm = honestdid.createSensitivityResults_relativeMagnitudes(
        beta, sigma, 4, 4, method="Conditional", Mbarvec=[1.0], gridPoints=30, l_vec=e1
    )
    out = {
        "source": "honestdid 0.1.1 (PyPI), tests/models/data/make_honestdid_port.py",
        "study": "bc",
        "flci": {
            "m": ms,
            "lb": [float(x) for x in flci["lb"]],
            "ub": [float(x) for x in flci["ub"]],
        },
        "rm_conditional": {
            "mbar": [1.0],
            "grid_points": 30,
            "lb": [float(x) for x in rm["lb"]],
            "ub": [float(x) for x in rm["ub"]],
        },
    }
    (HERE / "honestdid_port.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
