"""The results of the cluster statistics and their JSON form.

:class:`JoinCountsResult` and :class:`MoranResult` (global tests), :class:`LocalResult` (one row per
unit, with indicator metadata); each writes itself as JSON (:meth:`JsonResult.to_json`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.files import write_json_atomic
from acv_geo.core.metadata import attach_metadata

__all__ = ["JoinCountsResult", "JsonResult", "LocalResult", "MoranResult"]


class JsonResult:
    """A dataclass result that turns into plain JSON (NaN as null)."""

    def to_dict(self) -> dict[str, Any]:
        """Attributes as a plain JSON-serialisable dict.

        Returns
        -------
        dict
            Every attribute; NaN becomes ``None``.
        """
        out = {}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            if isinstance(v, (np.floating, float)):
                v = None if np.isnan(v) else float(v)
            elif isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        return out

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON (UTF-8), atomically.

        Parameters
        ----------
        path : str or path-like
            Destination ``.json`` file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        write_json_atomic(path, self.to_dict())
        return Path(path)


@dataclass(frozen=True)
class JoinCountsResult(JsonResult):
    """Global join counts of a yes/no variable (esda.Join_Counts's statistics and permutations).

    Attributes
    ----------
    variable, level, weights : str
        What was analysed, at which level, with which weights spec.
    n, n_black : int
        Units with a value; units in class 1 ("black", e.g. publishing open data).
    joins : float
        Number of joins J (half the sum of binary weights; esda's convention for asymmetric knn).
    bb, bw, ww : float
        Observed joins 1–1, 1–0, 0–0.
    expected_bb, expected_bw, expected_ww : float
        Expectations under random assignment without replacement (non-free sampling).
    mean_bb_sim, mean_bw_sim, mean_ww_sim : float
        Means over the permutations.
    p_sim_bb, p_sim_bw : float
        One-sided permutation p-values (more BB, more BW joins than by chance).
    chi2, chi2_p, chi2_dof : float
        χ² test of the 2×2 join table; ``p_sim_chi2`` its permutation p-value.
    permutations, seed : int
        Inference settings.
    """

    variable: str
    level: str
    weights: str
    n: int
    n_black: int
    joins: float
    bb: float
    bw: float
    ww: float
    expected_bb: float
    expected_bw: float
    expected_ww: float
    mean_bb_sim: float
    mean_bw_sim: float
    mean_ww_sim: float
    p_sim_bb: float
    p_sim_bw: float
    chi2: float
    chi2_p: float
    chi2_dof: float
    p_sim_chi2: float
    permutations: int
    seed: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MoranResult(JsonResult):
    """Global Moran's I (esda.Moran, row-standardised weights).

    Attributes
    ----------
    variable, level, weights : str
        What was analysed, at which level, with which weights spec.
    n : int
        Units with a value.
    I : float
        Moran's I.
    expected : float
        ``-1 / (n - 1)``.
    z_norm, p_norm, z_rand, p_rand : float
        Analytical z and two-sided p under normality and randomisation.
    p_sim, mean_sim, z_sim, p_z_sim : float
        Permutation p-value (esda's folded pseudo p), mean of the permuted I, z and p of I
        against them (NaN when ``permutations=0``).
    permutations, seed : int
        Inference settings.
    """

    variable: str
    level: str
    weights: str
    n: int
    I: float  # noqa: E741
    expected: float
    z_norm: float
    p_norm: float
    z_rand: float
    p_rand: float
    p_sim: float
    mean_sim: float
    z_sim: float
    p_z_sim: float
    permutations: int
    seed: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalResult(JsonResult):
    """Local cluster statistics, one row per input unit.

    Attributes
    ----------
    method : str
        ``"lisa"``, ``"gi_star"`` or ``"join_count"``.
    variable, level, weights : str
        What was analysed, at which level (``"commune"``: rows are cities indexed by
        ``insee_com``; ``"epci"``: rows are EPCIs indexed by ``siren_epci``), with which weights.
    permutations, seed : int
        Conditional-permutation settings (the seed actually used).
    alpha : float
        Significance level of the labels.
    alternative : str
        Alternative hypothesis of the permutation p-values.
    fdr : bool
        Whether labels use the Benjamini–Hochberg adjusted p-values.
    n, n_tested, n_na : int
        Rows; units that got a local p-value; units with NA values.
    islands : tuple of str
        Units with no neighbour among the units that have a value.
    recoded : bool
        join_count only: the variable was recoded ``1 - y`` so that class 1 is the minority.
    focus : str
        What the statistic looks for (e.g. ``"class 1 = opendata is 1 (111 of 244)"``).
    counts : dict
        Number of rows per label.
    warnings : tuple of str
        Fallbacks and exclusions applied.
    esda_version : str
        Version of esda that computed the statistics.
    """

    method: str
    variable: str
    level: str
    weights: str
    permutations: int
    seed: int
    alpha: float
    alternative: str
    fdr: bool
    n: int
    n_tested: int
    n_na: int
    islands: tuple[str, ...]
    recoded: bool
    focus: str
    counts: dict
    warnings: tuple[str, ...]
    esda_version: str
    frame: pd.DataFrame = field(repr=False, compare=False)
    weights_result: Any = field(default=None, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-unit table, with indicator metadata attached.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``insee_com`` (or ``siren_epci`` at EPCI level), all input units in input
            order, columns ``value, statistic, quadrant, p_sim, p_fdr, label, reason``.
        """
        out = self.frame.copy()
        out.attrs = {}
        src = f"acv-geo clusters (esda {self.esda_version}), weights {self.weights}"
        stat_desc = {
            "lisa": "Local Moran's I (row-standardised weights)",
            "gi_star": "Getis-Ord Gi* (row-standardised weights with self-weight)",
            "join_count": "Local join count: number of class-1 neighbours of a class-1 unit",
        }[self.method]
        quad_desc = {
            "lisa": "LISA quadrant of value and spatial lag: HH, LH, LL, HL",
            "gi_star": "direction: hot (above expectation) or cold",
            "join_count": "BB when the unit and at least one neighbour are in class 1",
        }[self.method]
        sig = "p_fdr" if self.fdr else "p_sim"
        rows = [
            ("value", "", f"value of {self.variable!r} (yes = 1, no = 0; NA kept as NA)"),
            ("statistic", "", stat_desc),
            ("quadrant", "", quad_desc),
            (
                "p_sim",
                "",
                f"pseudo p-value, {self.permutations} conditional permutations, seed {self.seed}, "
                f"alternative {self.alternative}",
            ),
            ("p_fdr", "", "Benjamini-Hochberg adjusted p-value over the tested units"),
            ("label", "", f"cluster label at alpha = {self.alpha} on {sig}"),
            ("reason", "", "why a unit has no statistic (NA value, no neighbour, not in class 1)"),
        ]
        return attach_metadata(
            out,
            [{"column": c, "unit": u, "source": src, "date": "", "description": d} for c, u, d in rows],
        )

    def to_dict(self) -> dict:
        """Settings and summary (not the per-unit table) as a JSON-serialisable dict.

        Returns
        -------
        dict
            Every attribute except the table and the weights object.
        """
        out = {}
        for k in self.__dataclass_fields__:
            if k in ("frame", "weights_result"):
                continue
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out
