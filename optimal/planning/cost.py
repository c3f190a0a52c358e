"""Time, energy and cost of a training run's compute on a number of accelerators, with every assumption beside
the figure it produced.

- accelerator-hours = C / (peak FLOP/s x MFU) / 3600
- wall-clock days = accelerator-hours / n_accelerators / 24
- energy (kWh) = accelerator-hours x power (W) x PUE / 1000
- cost = accelerator-hours x price per accelerator-hour

MFU (model FLOPs utilisation: the model's FLOPs per second over the accelerator's dense peak) is an assumption:
large dense runs report 0.3-0.5 (PaLM 540B 46.2%, Chowdhery et al. 2022, Table 3; Llama 3 405B 38-43%, Dubey et
al. 2024, its pre-training configurations). The default 0.4 sits in that range. The default PUE, 1.1, is that of a modern large data
centre (Google reports a fleet average near 1.1); 1.0 counts the accelerators alone. The default price, 2.0 per
accelerator-hour (in whatever currency you read it), is a placeholder to be replaced by your own quote. Power is
the accelerator's TDP: hosts, network and storage are not counted.

Example (1e25 FLOPs on A100s at 400 W, 100% MFU, PUE 1: 3.56 GWh):
  >>> round(hardware_estimate(1e25, "a100", mfu=1.0, pue=1.0).energy_kwh / 1e6, 2)
  3.56
"""

import dataclasses
import math
import numbers
import sys

from ..errors import PlanningError, as_real, check_count, shown_value
from .._util.results import Formula, Issue
from .accelerators import Accelerator, accelerator as find_accelerator, check_plausible

DEFAULT_MFU = 0.4
DEFAULT_PUE = 1.1
MAX_PUE = 5.0  # a facility spending four watts on cooling and losses per watt of compute: the Uptime Institute's
# industry average was 1.58 in 2023 (Uptime Intelligence Update 221, "Large data centers are mostly more efficient,
# analysis confirms", Nov 2023) and about 2.5 in 2007 (Uptime's Andy Lawrence, quoted by Upsite Technologies, "Why has
# PUE remained flat...", Sep 2023), so above this is a typo
DEFAULT_PRICE_PER_ACCELERATOR_HOUR = 2.0
SECONDS_PER_HOUR = 3600.0

NOTES = {
    "mfu": "model FLOPs utilisation; large dense runs report 0.3-0.5 (PaLM 46.2%, Llama 3 405B 38-43%)",
    "pue": "power usage effectiveness: facility energy over IT energy (1.0: the accelerators alone)",
    "price_per_accelerator_hour": "a placeholder, not a quote: give your own price",
    "power_watts": "accelerator TDP alone: hosts, network and storage not counted",
}


MAX_ACCELERATORS = 10**9  # far beyond any cluster; keeps days = hours / count a float


def _real(value, name, low, high=math.inf, low_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PlanningError(f"{name} must be a number, got {value!r}")
    number = as_real(value)  # an int beyond float64: inf, refused below
    inside = (number > low if low_open else number >= low) and number <= high
    if not (math.isfinite(number) and inside):
        bound = f"{'>' if low_open else '>='} {low:g}" + ("" if math.isinf(high) else f" and <= {high:g}")
        raise PlanningError(f"{name} must be a finite number {bound}, got {shown_value(value)}")
    return number


def check_price(value, name="price_per_accelerator_hour"):
    """A price per accelerator-hour: 0 (free) or a positive finite number float64 holds at full precision (at least
    its smallest normal number: below it the price the plan prints is not the one given); else ``PlanningError``."""
    price = _real(value, name, 0.0, low_open=False)
    if 0 < price < sys.float_info.min:
        raise PlanningError(f"{name} {value!r} is below {sys.float_info.min:.3g}, the smallest price float64 holds at "
                            "full precision: give 0 (free) or the price in a smaller currency unit")
    return price


def energy_text(kwh):
    for unit, size in (("GWh", 1e6), ("MWh", 1e3)):
        if kwh >= size:
            return f"{kwh / size:.4g} {unit}"
    return f"{kwh:.4g} kWh"


def origin_text(assumption):
    """Where an assumption came from, in a word: "default", "given", or its table entry or file."""
    origin = assumption["from"]
    return "default" if origin == "default" else "given" if origin == "argument" else origin


@dataclasses.dataclass(frozen=True)
class HardwareEstimate(Formula):
    """Accelerator-hours, wall-clock days, energy and cost of ``compute`` FLOPs, with their assumptions.

    ``assumptions`` is ``{name: {"value", "from", "note"}}`` for mfu, pue, power_watts and
    price_per_accelerator_hour ("from": "argument", "default", or the accelerator's table entry or file).
    ``wall_clock_days`` is None without ``n_accelerators``; ``energy_kwh`` is None when the accelerator's power is
    unpublished and none was given.
    """

    compute: float
    accelerator: Accelerator
    precision: str
    peak_flops_per_second: float
    mfu: float
    n_accelerators: int | None
    power_watts: float | None
    pue: float
    price_per_accelerator_hour: float
    accelerator_hours: float
    wall_clock_days: float | None
    energy_kwh: float | None
    cost: float
    assumptions: dict

    def to_dict(self) -> dict:
        """Every figure beside the inputs that produced it (the CLI's JSON ``time``, ``energy``, ``cost``)."""
        return {
            "compute": self.compute,
            "accelerator": self.accelerator.to_dict(),
            "accelerator_hours": {"value": self.accelerator_hours, "formula": "compute / (peak x mfu) / 3600",
                                  "compute": self.compute, "precision": self.precision,
                                  "peak_flops_per_second": self.peak_flops_per_second, "mfu": self.mfu},
            "wall_clock_days": {"value": self.wall_clock_days, "formula": "accelerator_hours / n_accelerators / 24",
                                "n_accelerators": self.n_accelerators},
            "energy_kwh": {"value": self.energy_kwh, "formula": "accelerator_hours x power_watts x pue / 1000",
                           "power_watts": self.power_watts, "pue": self.pue},
            "cost": {"value": self.cost, "formula": "accelerator_hours x price_per_accelerator_hour",
                     "price_per_accelerator_hour": self.price_per_accelerator_hour},
            "assumptions": self.assumptions,
            "status": self.status.label,
        }

    @property
    def warnings(self) -> tuple:
        """No energy without a published or given power ("no-power")."""
        if self.energy_kwh is not None:
            return ()
        return (Issue("no-power", f"{self.accelerator.name} has no published power: give power_watts (--power W)"),)

    @property
    def notes(self) -> tuple:
        """Every assumption taken by default ("assumption")."""
        return tuple(Issue("assumption", f"{name} {entry['value']:g} (default)" + (f": {entry['note']}" if entry.get("note")
                                                                                 else ""))
                     for name, entry in self.assumptions.items()
                     if entry.get("from") == "default" and isinstance(entry.get("value"), (int, float)))

    def summary(self) -> str:
        """One line: accelerator-hours, days, energy and cost with the MFU they assume."""
        days = "" if self.wall_clock_days is None else f", {self.wall_clock_days:.4g} days on {self.n_accelerators}"
        energy = "energy n/a (no power)" if self.energy_kwh is None else energy_text(self.energy_kwh)
        return (f"{self.compute:.4g} FLOPs on {self.accelerator.name}: {self.accelerator_hours:.4g} accelerator-hours"
                f"{days}, {energy}, cost {self.cost:.4g} (MFU {self.mfu:g} [{origin_text(self.assumptions['mfu'])}])")


def hardware_estimate(compute, accelerator="h100", *, precision="bf16", mfu=None, n_accelerators=None,
                      power_watts=None, pue=None, price_per_accelerator_hour=None) -> HardwareEstimate:
    """Accelerator-hours, days, energy and cost to spend ``compute`` FLOPs (module docstring's formulas).

    Args:
      compute: training FLOPs (for a mixture of experts, from its *active* parameters).
      accelerator: a table name (``optimal.planning.ACCELERATORS``, "h100", "a100", ...) or an ``Accelerator``.
      precision: the precision whose dense peak the run computes at (bf16, fp8, ...).
      mfu: model FLOPs utilisation in (0, 1]; default 0.4.
      n_accelerators: how many run at once (for wall-clock days); None leaves days out.
      power_watts: power per accelerator (W), within an accelerator file's bounds (``PLAUSIBLE``: 1 W to 1 MW);
        default the accelerator's TDP.
      pue: power usage effectiveness, 1 to ``MAX_PUE`` (5); default 1.1.
      price_per_accelerator_hour: 0 or a normal float64 (``check_price``); default 2.0 (a placeholder).
    """
    compute = _real(compute, "compute", 0.0)
    device = find_accelerator(accelerator)
    peak = device.peak(precision)
    given = {"mfu": mfu, "pue": pue, "power_watts": power_watts,
             "price_per_accelerator_hour": price_per_accelerator_hour}
    mfu = _real(DEFAULT_MFU if mfu is None else mfu, "mfu", 0.0, 1.0)
    pue = _real(DEFAULT_PUE if pue is None else pue, "pue", 1.0, MAX_PUE, low_open=False)
    price = check_price(DEFAULT_PRICE_PER_ACCELERATOR_HOUR if price_per_accelerator_hour is None else
                        price_per_accelerator_hour)
    power = device.power_watts if power_watts is None else check_plausible(_real(power_watts, "power_watts", 0.0),
                                                                            "power_watts", "power_watts", "W")
    if n_accelerators is not None:
        check_count(n_accelerators, "n_accelerators", 1, MAX_ACCELERATORS, error=PlanningError)
    values = {"mfu": mfu, "pue": pue, "power_watts": power, "price_per_accelerator_hour": price}
    assumptions = {}
    for name, value in values.items():
        origin = "argument" if given[name] is not None else "default"
        if name == "power_watts" and given[name] is None:
            origin = f"{device.name} TDP" if power is not None else "unknown"
        note = NOTES[name] if value is not None else "no published power for this accelerator: give one"
        if name == "price_per_accelerator_hour" and origin == "argument":
            note = "your price"  # a given price is no placeholder
        assumptions[name] = {"value": value, "from": origin, "note": note}
    n = None if n_accelerators is None else int(n_accelerators)
    figures = hardware_figures(compute, peak, mfu, n, power, pue, price)
    for name, value in (("accelerator-hours", figures["accelerator_hours"]), ("energy (kWh)", figures["energy_kwh"]),
                        ("cost", figures["cost"])):
        if value is not None and not math.isfinite(value):
            raise PlanningError(f"{name} overflows ({value:g}) for compute {compute:g} FLOPs at a peak of {peak:g} "
                                f"FLOP/s x MFU {mfu:g}, {power} W, price {price:g}; check the units of the inputs")
    return HardwareEstimate(
        compute=compute, accelerator=device, precision=precision, peak_flops_per_second=peak, mfu=mfu,
        n_accelerators=n, power_watts=power, pue=pue, price_per_accelerator_hour=price, assumptions=assumptions,
        **figures)


def hardware_figures(compute, peak_flops_per_second, mfu, n_accelerators, power_watts, pue, price_per_accelerator_hour):
    """The module docstring's formulas, the one place they are written: ``{"accelerator_hours", "wall_clock_days",
    "energy_kwh", "cost"}`` for ``compute`` FLOPs (a float, or an array of any shape: every figure then has its
    shape). Days are None without ``n_accelerators``, energy None without ``power_watts`` (W). Inputs unchecked:
    ``hardware_estimate`` checks them, and ``TrainingPlan.figures`` reuses a checked estimate's."""
    hours = compute / (peak_flops_per_second * mfu) / SECONDS_PER_HOUR
    return {"accelerator_hours": hours,
            "wall_clock_days": None if n_accelerators is None else hours / n_accelerators / 24.0,
            "energy_kwh": None if power_watts is None else hours * power_watts * pue / 1000.0,
            "cost": hours * price_per_accelerator_hour}
