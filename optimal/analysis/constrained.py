"""The best run under the real constraints: the N and D that minimise a law's loss within a deadline on a number of
accelerators, a budget in money, a budget in energy, the accelerators' memory and the unique data, with each
constraint's shadow price.

Every constraint caps one of the three things the loss depends on:

- compute C = k N D (FLOPs), capped by the wall clock (C <= accelerators x peak x MFU x time), by money
  (accelerator-hours x price <= max_cost) and by energy (accelerator-hours x power x PUE <= max_energy). The
  hours, days, energy and cost of a number of FLOPs are ``optimal.planning.cost.hardware_figures``' formulas; they
  are linear in C, so each cap is the limit divided by that figure for one FLOP.
- parameters N, capped by memory: what the busiest accelerator holds must fit its memory. Without a context that
  is the training state (weights, gradients and optimiser state under a ZeRO stage over all the accelerators,
  ``optimal.planning.memory``), linear in N. With a ``context`` (and a ``layout``: tensor, pipeline, ZeRO,
  sequence parallelism, recomputation; default none of them) it is ``optimal.planning.layout_memory``: the state on
  the first pipeline stage plus Korthikanti et al.'s activations for ``micro_batch`` sequences, on the shape
  ``shape_for_params(N, aspect_ratio)`` builds (as ``optimal plan`` does). On one shape the bytes are
  ``N (R + S / n) + activations`` (n accelerators, S the part sharded over the data-parallel replicas); the shape
  steps with N, so the cap is found by walking the shapes: the first shape whose memory passes the accelerator's
  within its own range of N gives N_max, the root of ``N (R + S/n) + activations = memory`` on it, or the boundary
  where the shapes change if the memory jumps past the accelerator's there. Shapes whose heads the tensor degree
  does not divide are skipped (no such layout exists). The derivative of N_max in n is that of the root on its
  shape (0 at a boundary), exact; the cap enters the solve as ``log(memory - activations) - log(R + S/n)``.
- tokens D, capped by the unique data U with a plain law (D <= U: no repetition); a data-constrained law
  (Muennighoff et al. 2023) takes U into the loss instead, and D may repeat it in epochs.

With a ``context`` the compute is also counted with attention: C = (k N + k n_layer context d_model) D at the
aspect ratio (``optimal.FlopsPerToken.attention``, Kaplan et al. 2020, as ``optimal plan --context`` counts it).

The law's loss falls as N or D grows, so the smallest compute cap binds unless the N and D caps together allow
less (then the run is the corner N = N_max, D = D_max); on the compute line the optimum is the compute-optimal N
clipped to the N and D caps (``optimal.allocation.allocate_law``, the project's solver). The loss at the optimum
is then a function of every constraint's limit, differentiated exactly by JAX: through ``min`` of the caps and the
clip, and through the solve by the implicit function theorem at the optimum (``allocate_law``'s
``jax.lax.custom_root``). Its derivative with respect to a limit is the limit's *shadow price*: the loss, in nats,
that one more day, accelerator, unit of money, MWh or unique token buys (negative: the loss falls; 0 for a
constraint that does not bind). Its *compute-equivalent* is the compute that buys the same loss at the unconstrained
optimum: the shadow price over dL*/dC, the slope of the compute-optimal loss (the same law, no cap on N or D) at
the compute the run spends. When only compute binds, a day's compute-equivalent is exactly the FLOPs a day buys
(the envelope theorem); a cap on N or D makes it smaller.

Example (30 days on 1024 H100s at the default MFU 0.4, Epoch AI's refit of Chinchilla):
  >>> from optimal import preset
  >>> run = best_run(preset("epoch2024"), Constraints(deadline_days=30, n_accelerators=1024))
  >>> run.binding
  ('deadline_days', 'n_accelerators')
  >>> f"{run.compute_flops:.3g}"
  '1.05e+24'
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..allocation.allocate import allocate_law, check_one_run_or_more, law_in
from ..allocation.flops import FlopsPerToken, check_flops_per_param_token
from ..allocation.draws import _check_draws
from ..errors import OptimalError, PlanningError, check_count, check_positive
from ..laws import DataConstrained
from ..planning.cost import HardwareEstimate, hardware_estimate, hardware_figures
from ..planning.layout import Layout, layout_memory
from ..planning.memory import SHARDING, _replicated_and_sharded, training_memory
from ..planning.plan import MAX_COMPUTE
from ..planning.shapes import DEFAULT_ASPECT_RATIO, MAX_PARAMS, parameter_count, shape_at_depth, shape_for_params
from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status
from .._util.stats import interval
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

# the limits a shadow price is reported for, and the unit "one more" of each means (the JSON names carry it)
UNITS = {"deadline_days": "day", "n_accelerators": "accelerator", "max_cost": "currency_unit",
         "max_energy_mwh": "mwh", "unique_tokens": "unique_token"}
COMPUTE_CAPS = ("deadline_days", "max_cost", "max_energy_mwh")  # limits that cap compute
KWH_PER_MWH = 1000.0
# each compute limit's figure in ``hardware_figures`` and the limit's unit in that figure's (MWh in kWh)
FIGURES = {"deadline_days": ("wall_clock_days", 1.0), "max_cost": ("cost", 1.0),
           "max_energy_mwh": ("energy_kwh", KWH_PER_MWH)}
ROOM_MARGIN = 1e-12
ZERO_STAGE = {"none": 0, "zero1": 1, "zero2": 2, "zero3": 3}  # the sharding names of planning.memory as ZeRO stages


@dataclasses.dataclass(frozen=True)
class Constraints:
    """The limits of a training run; None leaves one out.

    deadline_days: wall-clock days (needs ``n_accelerators``); n_accelerators: accelerators running at once (their
    memory caps N; with a deadline their count caps compute); max_cost: money, in the unit of the price per
    accelerator-hour; max_energy_mwh: facility energy in MWh (accelerator power x PUE); unique_tokens: unique
    training tokens available (a cap on D with a plain law, the law's U with a data-constrained one).
    """

    deadline_days: float | None = None
    n_accelerators: int | None = None
    max_cost: float | None = None
    max_energy_mwh: float | None = None
    unique_tokens: float | None = None

    def __post_init__(self):
        for name in ("deadline_days", "max_cost", "max_energy_mwh", "unique_tokens"):
            value = getattr(self, name)
            if value is None:
                continue
            object.__setattr__(self, name, check_positive(value, name, PlanningError))
        if self.unique_tokens is not None and self.unique_tokens < 1:
            raise PlanningError(f"unique_tokens must be at least 1 (one token), got {self.unique_tokens:.3g}")
        if self.n_accelerators is not None:
            object.__setattr__(self, "n_accelerators", check_count(self.n_accelerators, "n_accelerators", 1, 10**9,
                                                                   error=PlanningError))
        if self.deadline_days is not None and self.n_accelerators is None:
            raise PlanningError("deadline_days needs n_accelerators: the wall clock caps compute only for a number of "
                                "accelerators running at once")

    def given(self) -> dict:
        """``{name: limit}`` of the limits given."""
        return {name: float(getattr(self, name)) for name in UNITS if getattr(self, name) is not None}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@jax.tree_util.register_pytree_node_class
@dataclasses.dataclass(frozen=True)
class Setup:
    """The fixed figures the caps are computed from, as arrays (a pytree): dense peak FLOP/s, MFU, power per
    accelerator (W; 1.0 when unknown, and then no energy limit is allowed), PUE, price per accelerator-hour, the
    memory cap's terms (``state_bytes``: the accelerator's memory less the activations on the shape where the cap
    falls; ``replicated_bytes_per_param`` R and ``sharded_bytes_per_param`` S: the busiest accelerator holds
    N (R + S / n) bytes of training state on n accelerators; a cap at a boundary between shapes is
    ``state_bytes`` = N_max, R = 1, S = 0), and k (a number, or a ``FlopsPerToken`` with attention)."""

    peak_flops_per_second: float
    mfu: float
    power_watts: float
    pue: float
    price_per_accelerator_hour: float
    state_bytes: float
    replicated_bytes_per_param: float
    sharded_bytes_per_param: float
    flops_per_param_token: float

    def tree_flatten(self):
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self)), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def _log_training(flops, log_n):
    """log training FLOPs per token at log N: k N, or a ``FlopsPerToken``'s (attention counted)."""
    if isinstance(flops, FlopsPerToken):
        return flops.log_training(log_n)
    return jnp.log(flops) + log_n


def _log_caps(values, given, setup, data_cap):
    """``{name: log cap}`` (+inf where the limit is not ``given``): log FLOPs for each compute limit; "memory": log
    N_max; "unique_tokens": log D_max (a plain law's cap on D). Every limit is always present (1.0 where not given) and
    masked by ``given``, so that one compiled program serves every mix of limits."""
    n = values["n_accelerators"]
    per_flop = hardware_figures(1.0, setup.peak_flops_per_second, setup.mfu, n, setup.power_watts, setup.pue,
                                setup.price_per_accelerator_hour)
    per_flop["energy_mwh"] = per_flop["energy_kwh"] / KWH_PER_MWH
    caps = {}
    for name, figure in (("deadline_days", "wall_clock_days"), ("max_cost", "cost"), ("max_energy_mwh", "energy_mwh")):
        caps[name] = jnp.where(given[name], jnp.log(values[name]) - jnp.log(per_flop[figure]), jnp.inf)
    # the memory model on the shape where the cap falls (``_memory_cap``): N (R + S / n) = memory - activations
    state_per_param = setup.replicated_bytes_per_param + setup.sharded_bytes_per_param / n
    caps["memory"] = jnp.where(given["n_accelerators"], jnp.log(setup.state_bytes) - jnp.log(state_per_param), jnp.inf)
    caps["unique_tokens"] = jnp.where(given["unique_tokens"] & data_cap, jnp.log(values["unique_tokens"]), jnp.inf)
    return caps


def _run(law, values, given, setup, data_cap):
    """The optimum for the limits ``values`` (``{name: limit}``, masked by ``given``): ``(loss, aux)`` with the
    allocation and caps."""
    caps = _log_caps(values, given, setup, data_cap)
    log_n_max, log_d_max = caps["memory"], caps["unique_tokens"]
    log_c_cap = jnp.min(jnp.stack([caps[name] for name in COMPUTE_CAPS]))
    # past k N_max D_max no compute can be spent: the run is the corner, and the compute caps do not bind
    log_c = jnp.minimum(log_c_cap, _log_training(setup.flops_per_param_token, log_n_max) + log_d_max)
    if not data_cap:
        law = law._replace(unique_tokens=jnp.where(given["unique_tokens"], values["unique_tokens"], law.unique_tokens))
    run = allocate_law(law, jnp.exp(log_c), setup.flops_per_param_token, log_d_max, log_n_max)
    return run.loss, {"run": run, "caps": caps, "log_c_cap": log_c_cap, "law": law}


def _solve(law, values, given, setup):
    """The optimum, its shadow prices (d loss / d limit) and dL*/dC of the compute-optimal loss at its compute."""
    data_cap = not isinstance(law, DataConstrained)
    (loss, aux), shadow = jax.value_and_grad(_run, argnums=1, has_aux=True)(law, values, given, setup, data_cap)
    run = aux["run"]

    # dL*/dC of the compute-optimal loss (the same law and U, no cap on N or D) at the run's compute, by the envelope
    # theorem: on the line log D = log(C/k) - log N the optimum has dL/dlog N = dL/dlog D, so dL*/dlog C = dL/dlog D
    # there (no derivative through a second solve, whose compilation would double this program's)
    free = allocate_law(aux["law"], run.compute, setup.flops_per_param_token, jnp.inf, jnp.inf)
    log_n, log_d = jnp.log(free.n_params), jnp.log(free.n_tokens)
    slope = jax.grad(lambda v: jnp.exp(aux["law"].log_loss(log_n, v)))(log_d) / run.compute
    return {"n_params": run.n_params, "n_tokens": run.n_tokens, "loss": loss, "compute": run.compute,
            "converged": run.converged, "bound": run.bound, "log_caps": aux["caps"], "log_c_cap": aux["log_c_cap"],
            "shadow": shadow, "loss_per_flop": slope}


_solve_one = jax.jit(_solve)


@jax.jit
def _solve_draws(laws, values, given, setup):
    """``_solve`` for every law of ``laws`` (a leading axis on each coefficient)."""
    return jax.vmap(lambda law: _solve(law, values, given, setup))(laws)


def _binding(out, values, setup, data_cap, rtol=1e-9):
    """``{name: bool}`` for every limit given: whether it binds (numpy, from one solution's arrays)."""
    caps = {name: float(v) for name, v in out["log_caps"].items()}
    log_n_max, log_d_max = caps["memory"], caps["unique_tokens"]
    corner = float(_log_training(setup.flops_per_param_token, log_n_max)) + log_d_max <= float(out["log_c_cap"])
    bound = int(out["bound"])
    memory = corner or bound == 2
    binds = {}
    for name in COMPUTE_CAPS:
        if name in values:
            binds[name] = not corner and caps[name] <= float(out["log_c_cap"]) + rtol
    if "n_accelerators" in values:  # its count enters the wall clock, and the memory cap where the state is sharded
        binds["n_accelerators"] = memory and float(setup.sharded_bytes_per_param) > 0 or binds.get("deadline_days",
                                                                                                 False)
        binds["memory"] = memory
    if "unique_tokens" in values:
        binds["unique_tokens"] = (corner or bound == 1) if data_cap else float(out["shadow"]["unique_tokens"]) != 0
    return binds, {"memory": memory, "corner": corner}


@dataclasses.dataclass(frozen=True)
class BestRun(Judged):
    """The least-loss run within the constraints (``best_run``'s answer).

    n_params (N), n_tokens (D), loss_nats (the law's loss there), compute_flops (k N D); binding: the limits that
    bind (names of ``Constraints``), and "memory" when the accelerators' memory caps N; caps: ``{"compute_flops": {limit: FLOPs cap}, "n_params_max_from_memory": N cap
    or None, "n_tokens_max_from_unique_data": D cap or None}``; shadow_prices: ``{limit: d loss / d limit}`` in nats per unit of the limit (``UNITS``);
    compute_equivalents: ``{limit: FLOPs}``, the compute that buys the same loss at the unconstrained optimum;
    loss_per_flop: dL*/dC there; hardware: the run's hours, days, energy and cost with their assumptions;
    memory: the memory model's assumptions (with a context: the layout, micro-batch, and the shape and activations
    where the cap falls); flops_model: None (C = k N D) or the attention FLOPs model's assumptions; unique_data: how U enters ("cap" on D with a plain law, "law" for a
    data-constrained law, None); intervals: with draws, ``{figure: {lo, hi, se}}`` and counts, else None.
    """

    constraints: Constraints
    n_params: float
    n_tokens: float
    loss_nats: float
    compute_flops: float
    binding: tuple
    caps: dict
    shadow_prices: dict
    compute_equivalents: dict
    loss_per_flop: float
    converged: bool
    hardware: HardwareEstimate
    memory: dict
    unique_data: str | None
    intervals: dict | None = None
    flops_model: dict | None = None

    @property
    def status(self) -> Status:
        if not self.converged:
            return Status.FAILED
        if self.intervals is not None and self.intervals["n_not_converged"]:
            return Status.PARTIAL
        return Status.SUCCESS

    @property
    def warnings(self) -> tuple:
        found = []
        if not self.converged:
            found.append(Issue("not-converged", "the allocation solver did not converge at the constrained optimum"))
        if self.intervals is not None and self.intervals["n_not_converged"]:
            found.append(Issue("not-converged", f"{self.intervals['n_not_converged']} of {self.intervals['n_draws']} "
                                                "draws' constrained optima did not converge (kept in the intervals)"))
        return tuple(found)

    @property
    def notes(self) -> tuple:
        if self.flops_model is None:
            found = [Issue("activations", "memory counts weights, gradients and optimiser state "
                                          f"({self.memory['sharding']}); activations are not counted (give a context)")]
        else:
            found = [Issue("activations", f"memory counts the training state and activations of micro-batches of "
                                          f"{self.memory['micro_batch']} x {self.memory['context']} tokens (Korthikanti "
                                          "et al. 2022) on the shape built for N at aspect ratio "
                                          f"{self.memory['aspect_ratio']:g}"),
                     Issue("attention-flops", f"compute counts attention: {self.flops_model['model']}")]
            if self.memory.get("cap_at") == "boundary":
                found.append(Issue("memory-boundary", "the memory cap falls where the shapes change (the next "
                                                      "shape's memory jumps past the accelerator's): its price in "
                                                      "accelerators is 0 locally"))
        if self.unique_data == "cap":
            found.append(Issue("unique-data", "a plain law: unique tokens cap D (no repetition); a data-constrained "
                                              "law would let D repeat them"))
        elif self.unique_data == "law":
            found.append(Issue("unique-data", "a data-constrained law (Muennighoff et al. 2023): D may repeat the "
                                              "unique tokens, at the law's discount"))
        if self.constraints.n_accelerators is None:
            found.append(Issue("memory-unchecked", "memory caps N only for a number of accelerators: none given"))
        if not self.binding:
            found.append(Issue("none-binds", "no limit binds"))
        return tuple(found) + self.hardware.notes

    def to_dict(self) -> dict:
        """Strict JSON; every name says its unit."""
        given = self.constraints.given()
        prices = {}
        for name, limit in given.items():
            unit = UNITS[name]
            entry = {"limit": limit, "unit": unit, "binds": name in self.binding,
                     f"shadow_price_loss_per_{unit}": self.shadow_prices[name],
                     f"compute_equivalent_flops_per_{unit}": self.compute_equivalents[name]}
            if self.intervals is not None:
                entry["intervals"] = {f"shadow_price_loss_per_{unit}": self.intervals["shadow_prices"][name],
                                      f"compute_equivalent_flops_per_{unit}": self.intervals["compute_equivalents"][name],
                                      "n_draws_binding": self.intervals["n_binding"][name]}
            prices[name] = entry
        return {"status": self.status.label, "constraints": self.constraints.to_dict(),
                "n_params": self.n_params, "n_tokens": self.n_tokens, "tokens_per_param": self.n_tokens / self.n_params,
                "loss_nats": self.loss_nats, "compute_flops": self.compute_flops, "binding": list(self.binding),
                "caps": self.caps, "shadow_prices": prices, "loss_per_flop_at_unconstrained_optimum":
                self.loss_per_flop, "converged": self.converged, "memory": self.memory,
                "unique_data": self.unique_data, "flops_model": self.flops_model, "hardware": self.hardware.to_dict(),
                "intervals": None if self.intervals is None else {
                    key: self.intervals[key] for key in ("confidence", "n_draws", "n_not_converged", "n_params",
                                                         "n_tokens", "loss_nats", "compute_flops")},
                "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes]}

    def summary(self) -> str:
        """The run, the limits with what binds, and each limit's shadow price and compute-equivalent."""
        ci = self.intervals

        def wide(bounds):  # an interval every draw gives alike (the compute a deadline buys) is not shown as one
            return bounds["lo"] is not None and abs(bounds["hi"] - bounds["lo"]) > 1e-9 * max(abs(bounds["hi"]),
                                                                                              abs(bounds["lo"]))

        width = 6 if ci is None else 13
        span = lambda key: "" if ci is None or not wide(ci[key]) else \
            f" [{ci[key]['lo']:.4g}, {ci[key]['hi']:.4g}]"  # noqa: E731
        lines = [f"best run under the constraints: N = {self.n_params:.4g}{span('n_params')}, D = {self.n_tokens:.4g}"
                 f"{span('n_tokens')}, loss {self.loss_nats:.5g}{span('loss_nats')} nats, compute "
                 f"{self.compute_flops:.4g}{span('compute_flops')} FLOPs"
                 + ("" if ci is None else f"  ({100 * ci['confidence']:g}% intervals over {ci['n_draws']} draws)"),
                 f"  binding: {', '.join(self.binding) or 'none'}",
                 f"  limit              value        {'binds':<{width}} loss per unit (nats)   compute-equivalent (FLOPs per unit)"]
        for name, limit in self.constraints.given().items():
            price, flops = self.shadow_prices[name], self.compute_equivalents[name]
            extra, binds = "", "yes" if name in self.binding else "no"
            if ci is not None:
                p, f = ci["shadow_prices"][name], ci["compute_equivalents"][name]
                binds += f" ({ci['n_binding'][name]}/{ci['n_draws']})"
                extra = "".join(f"  {what} [{b['lo']:.3g}, {b['hi']:.3g}]" for what, b in (("loss", p), ("FLOPs", f))
                                if wide(b))
            lines.append(f"  {name:<18} {limit:<12.4g} {binds:<{width}} "
                         f"{price:<22.4g} {flops:.4g} per {UNITS[name].replace('_', ' ')}{extra}")
        return "\n".join(lines)


def _memory_cap(room, n, layout, micro_batch, context, ratio, optimizer, precision):
    """The memory cap's terms with activations (module docstring): ``(state_bytes, R, S, at)`` with
    ``N_max = state_bytes / (R + S / n)`` and ``at`` a dict saying where the cap falls (the shape, its
    activations, "root" or "boundary"; "none" when no shape up to ``MAX_PARAMS`` fills the memory)."""
    t, p = layout.tensor, layout.pipeline
    if n % (t * p):
        raise PlanningError(f"n_accelerators {n} is not a multiple of tensor x pipeline parallel {t} x {p}: the "
                            "data-parallel degree is n_accelerators / (t p)")
    d = n // (t * p)
    one, two = dataclasses.replace(layout, data=d), dataclasses.replace(layout, data=2 * d)

    def memory(shape, lay):
        return layout_memory(1.0, shape, lay, micro_batch, context, optimizer=optimizer, precision=precision)

    def where(shape, act, kind):
        return {"cap_at": kind, "shape_at_cap": {"n_layer": shape.n_layer, "d_model": shape.d_model,
                                                 "n_heads": shape.n_heads}, "activation_bytes_at_cap": act}

    layers, fitted = p, None  # fitted: the last shape laid out whose whole range of N fits
    while True:
        shape = shape_at_depth(layers, ratio)
        if parameter_count(shape).total > MAX_PARAMS:
            return math.inf, 1.0, 0.0, {"cap_at": "none", "shape_at_cap": None, "activation_bytes_at_cap": None}
        if shape.n_heads % t:  # no such layout of this shape: its range of N is skipped
            layers += 1
            continue
        at_d = memory(shape, one)
        per_param, act = at_d.model_state_bytes, at_d.activations
        top = parameter_count(shape_at_depth(layers + 1, ratio)).total  # above this shape's range of N
        if per_param * top + act <= room:
            layers, fitted = layers + 1, layers
            continue
        root = (room - act) / per_param
        found = shape_for_params(root, ratio).n_layer if root >= 1 else 0
        if found == layers:  # the root lies on this shape: N (R + S/n) + act = room, R and S from d and 2d replicas
            sharded_d = 2 * d * (per_param - memory(shape, two).model_state_bytes)  # S_d: bytes/param over d
            replicated = per_param - sharded_d / d
            # less 1e-12 relative: the run found fits when its memory is recomputed (rounding would say "does not")
            return (room - act) * (1 - ROOM_MARGIN), replicated, sharded_d * t * p, where(shape, act, "root")
        if found > layers:
            layers, fitted = layers + 1, layers
            continue
        # the memory jumps past the room at this shape: N_max is the top of the last shape laid out that fits
        if fitted is None:
            raise PlanningError(f"not even the smallest model of this layout fits: {shape.n_layer} layers of width "
                                f"{shape.d_model} need {act / 1e9:.4g} GB of activations alone for a micro-batch of "
                                f"{micro_batch} x {context} tokens, of {room / 1e9:g} GB; a smaller micro-batch, "
                                "recomputation or more tensor/pipeline parallelism")
        lo, hi = (math.log(parameter_count(shape_at_depth(n_layer, ratio)).total) for n_layer in (fitted, fitted + 1))
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if shape_for_params(math.exp(mid), ratio).n_layer > fitted else (mid, hi)
        top = shape_at_depth(fitted, ratio)
        return math.exp(lo), 1.0, 0.0, where(top, memory(top, one).activations, "boundary")


def check_compute_limits(constraints, hardware, flops_per_param_token, names=None):
    """Each compute limit of ``constraints`` given (deadline, cost, energy) buys, on ``hardware`` (a
    ``HardwareEstimate``: its accelerator, MFU, count, power, PUE and price), at least one parameter trained on one
    token and at most ``MAX_COMPUTE`` FLOPs, the most a plan computes with; otherwise a ``PlanningError`` naming the
    limit as ``names`` does (``{limit: name}``; default the ``Constraints`` field: the CLI passes its options). A
    limit the hardware cannot price (no power, a price of 0) is refused by ``best_run`` on its own."""
    k = float(flops_per_param_token)
    terms = (hardware.peak_flops_per_second, hardware.mfu, hardware.n_accelerators, hardware.power_watts,
             hardware.pue, hardware.price_per_accelerator_hour)
    least, most = hardware_figures(k, *terms), hardware_figures(MAX_COMPUTE, *terms)  # compared, never divided
    for limit, (figure, scale) in FIGURES.items():
        value = getattr(constraints, limit)
        if value is None or not most[figure]:
            continue
        name = f"{(names or {}).get(limit, limit)} {value:g}"
        if value * scale > most[figure]:
            raise PlanningError(f"{name} buys more than {MAX_COMPUTE:g} FLOPs (MAX_COMPUTE), the most a plan computes "
                                "with; check the units")
        if value * scale < least[figure]:
            check_one_run_or_more(k * value * scale / least[figure], k, f"{name}: its compute", PlanningError,
                                  "; check the units")


def _setup(accelerator, precision, mfu, pue, power_watts, price, optimizer, sharding, k, constraints, layout,
           micro_batch, context, aspect_ratio):
    """The checked hardware (a ``HardwareEstimate`` of one FLOP, for its checked figures and assumptions), the
    ``Setup`` arrays, the memory model's assumptions and the FLOPs model's (None without a context)."""
    if sharding is not None and sharding not in SHARDING:
        raise PlanningError(f"unknown sharding {sharding!r}; choose one of {', '.join(SHARDING)}")
    if layout is not None and not isinstance(layout, Layout):
        raise PlanningError(f"layout must be an optimal.planning.Layout, not {type(layout).__name__}")
    if layout is not None and sharding is not None:
        raise PlanningError("give the ZeRO stage in the layout (Layout(zero=...)) or sharding, not both")
    if context is None and (layout is not None or micro_batch is not None):
        raise PlanningError("a layout or a micro-batch sizes activations: give the context (tokens per sequence)")
    sharding = "zero3" if sharding is None else sharding
    unit = hardware_estimate(1.0, accelerator, precision=precision, mfu=mfu, pue=pue, power_watts=power_watts,
                             price_per_accelerator_hour=price, n_accelerators=constraints.n_accelerators)
    if constraints.max_energy_mwh is not None and unit.power_watts is None:
        raise PlanningError(f"max_energy_mwh needs the accelerator's power: {unit.accelerator.name} has none "
                            "published; give power_watts (--power W)")
    if constraints.max_cost is not None and unit.price_per_accelerator_hour == 0:
        raise PlanningError("max_cost with a price of 0 per accelerator-hour caps nothing: give the price "
                            "(price_per_accelerator_hour, --price-per-hour)")
    k = check_flops_per_param_token(k)  # its cap: k = 1e10 was planned as given
    if aspect_ratio is not None:  # checked with or without a context: 0 was ignored without one
        shape_for_params(1e9, aspect_ratio)
    check_compute_limits(constraints, unit, k)
    room = float(unit.accelerator.memory_bytes)
    flops, flops_model = float(k), None
    if context is None:
        replicated, sharded = _replicated_and_sharded(training_memory(1.0, optimizer, precision), sharding)
        state, cap_at = room, None
        memory = {"model": "optimal.planning.memory: weights, gradients and optimiser state; activations not counted "
                           "(give a context)", "sharding": sharding}
    else:
        ratio = DEFAULT_ASPECT_RATIO if aspect_ratio is None else aspect_ratio
        layout = Layout(zero=ZERO_STAGE[sharding]) if layout is None else layout
        b = 1 if micro_batch is None else micro_batch
        if layout.expert > 1:
            raise PlanningError("expert parallelism needs a mixture of experts: the shapes built at the aspect ratio "
                                "are dense")
        layout_memory(1.0, shape_at_depth(max(layout.pipeline, 1), ratio), Layout(pipeline=layout.pipeline), b,
                      context, optimizer=optimizer, precision=precision)  # checks micro-batch, context, optimizer
        flops = FlopsPerToken.attention(context, aspect_ratio=ratio, training_per_param=float(k))
        flops_model = {"model": "k (N + n_layer context d_model) per token at the aspect ratio (Kaplan et al. 2020, "
                                "section 2.1; optimal.FlopsPerToken.attention)", "context": context,
                       "aspect_ratio": ratio, "flops_per_param_token": float(k)}
        if constraints.n_accelerators is None:
            state, replicated, sharded, cap_at = math.inf, 1.0, 0.0, None
        else:
            state, replicated, sharded, cap_at = _memory_cap(room, constraints.n_accelerators, layout, b, context,
                                                             ratio, optimizer, precision)
        memory = {"model": "optimal.planning.layout_memory: training state on the first pipeline stage plus "
                           "activations (Korthikanti et al. 2022, Table 2) on the shape built for N at the aspect "
                           "ratio", "layout": {key: value for key, value in layout.to_dict().items()
                                               if key not in ("data_parallel", "accelerators")},
                  "micro_batch": b, "context": context, "aspect_ratio": ratio, **(cap_at or {})}
    setup = Setup(*(jnp.asarray(x, jnp.float64) for x in (
        unit.peak_flops_per_second, unit.mfu, 1.0 if unit.power_watts is None else unit.power_watts, unit.pue,
        unit.price_per_accelerator_hour, state, replicated, sharded)),
        flops if isinstance(flops, FlopsPerToken) else jnp.asarray(flops, jnp.float64))
    per_param = cap_at is None or cap_at["cap_at"] == "root"  # else R, S are the boundary's placeholders
    memory = {**memory, "optimizer": optimizer, "precision": precision, "accelerator_memory_bytes": room,
              "bytes_per_param_replicated": replicated if per_param else None,
              "bytes_per_param_sharded": sharded if per_param else None}
    return unit, setup, memory, flops_model


@float64_scope
def best_run(law, constraints, *, accelerator="h100", precision="bf16", mfu=None, pue=None, power_watts=None,
             price_per_accelerator_hour=None, optimizer="adam", sharding=None,
             flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, context=None, micro_batch=None, layout=None,
             aspect_ratio=None, draws=None) -> BestRun:
    """The N and D that minimise ``law``'s loss within ``constraints``, with every limit's shadow price.

    Args:
      law: a law (``optimal.preset(...)``, a fit's ``.law``); a ``DataConstrained`` law takes
        ``constraints.unique_tokens`` as its U, any other law takes it as a cap D <= U.
      constraints: a ``Constraints``; at least one of deadline_days, max_cost and max_energy_mwh (a cap on compute),
        or n_accelerators with unique_tokens under a plain law (caps on N and D).
      accelerator, precision, mfu, pue, power_watts, price_per_accelerator_hour: as for
        ``optimal.planning.hardware_estimate`` (defaults: h100, bf16, MFU 0.4, PUE 1.1, TDP, 2.0 a placeholder).
      optimizer, sharding: the training state's bytes per parameter (``optimal.planning.training_memory``) and how
        it is split over the accelerators ("none", "zero1", "zero2", "zero3"; default "zero3"); memory caps N only
        with ``n_accelerators``.
      flops_per_param_token: k in C = k N D.
      context: tokens per training sequence: counts attention FLOPs (k n_layer context d_model per token) and the
        activations in the memory cap (``optimal.planning.layout_memory`` on the shape built for N at
        ``aspect_ratio``, default 128). micro_batch: sequences per micro-batch (default 1). layout: an
        ``optimal.planning.Layout`` (its tensor, pipeline, ZeRO stage, sequence parallelism and recomputation; the
        data-parallel degree is n_accelerators / (t p)); default: ``Layout(zero=sharding's stage)``.
      draws: a ``BootstrapResult`` of the law's fit: every converged draw answers too (one vmapped program), and
        every figure gets its percentile interval.

    Returns:
      A ``BestRun``. Shadow prices are exact derivatives (implicit at the solve); they hold where the set of
      binding limits does not change (at a tie between two limits each side's derivative differs).

    Raises:
      PlanningError: a bad limit or hardware figure, nothing capping compute, or a deadline, cost or energy that buys
        less than one parameter trained on one token or more than ``MAX_COMPUTE`` FLOPs (``check_compute_limits``).
    """
    if not isinstance(constraints, Constraints):
        raise OptimalError(f"constraints must be a Constraints, not {type(constraints).__name__}")
    unit, setup, memory, flops_model = _setup(accelerator, precision, mfu, pue, power_watts, price_per_accelerator_hour,
                                              optimizer, sharding, flops_per_param_token, constraints, layout,
                                              micro_batch, context, aspect_ratio)
    law = law_in(law, np.float64)
    data_cap = not isinstance(law, DataConstrained)
    values = constraints.given()
    if not any(name in values for name in COMPUTE_CAPS) and not (
            constraints.n_accelerators is not None and data_cap and constraints.unique_tokens is not None):
        raise PlanningError("nothing caps compute: give a deadline (with the accelerators), a maximum cost or a "
                            "maximum energy (or, with a plain law, both accelerators and unique tokens)")
    arrays = {name: jnp.asarray(values.get(name, 1.0), jnp.float64) for name in UNITS}
    given = {name: jnp.asarray(name in values) for name in UNITS}
    out = jax.tree_util.tree_map(np.asarray, _solve_one(law, arrays, given, setup))
    binds, _ = _binding(out, values, setup, data_cap)
    slope = float(out["loss_per_flop"])
    if not (math.isfinite(slope) and slope < 0):  # a loss flat in compute: no price in FLOPs, no best run either
        raise PlanningError(
            f"the loss does not fall with compute here (dL*/dC = {slope:.3g} at the unconstrained optimum"
            + (f"; with U = {constraints.unique_tokens:.3g} unique tokens the data-constrained law's discounts saturate"
               if constraints.unique_tokens is not None else "") + "): the best run and the limits' compute "
            "equivalents are not determined; " + ("give more unique tokens" if constraints.unique_tokens is not None
                                                  else "check the law"))
    shadow = {name: float(out["shadow"][name]) + 0.0 for name in values}  # + 0.0: no -0 for a slack limit
    caps = {name: value for name, value in out["log_caps"].items() if np.isfinite(value)}
    compute = float(out["compute"])
    hardware = hardware_estimate(compute, accelerator, precision=precision, mfu=mfu, pue=pue, power_watts=power_watts,
                                 price_per_accelerator_hour=price_per_accelerator_hour,
                                 n_accelerators=constraints.n_accelerators)
    intervals = None if draws is None else _intervals(draws, arrays, given, setup, data_cap, values)
    return BestRun(
        constraints=constraints, n_params=float(out["n_params"]), n_tokens=float(out["n_tokens"]),
        loss_nats=float(out["loss"]), compute_flops=compute,
        binding=tuple(name for name in (*values, "memory") if binds.get(name)),
        caps={"compute_flops": {name: float(np.exp(caps[name])) for name in COMPUTE_CAPS if name in caps},
              "n_params_max_from_memory": float(np.exp(caps["memory"])) if "memory" in caps else None,
              "n_tokens_max_from_unique_data": float(np.exp(caps["unique_tokens"])) if "unique_tokens" in caps
              else None},
        shadow_prices=shadow, compute_equivalents={name: value / slope + 0.0 for name, value in shadow.items()},
        loss_per_flop=slope, converged=bool(out["converged"]), hardware=hardware, memory=memory,
        flops_model=flops_model,
        unique_data=None if constraints.unique_tokens is None else "cap" if data_cap else "law",
        intervals=intervals)


def _intervals(draws, arrays, given, setup, data_cap, values):
    """Every converged draw's constrained optimum and shadow prices (one vmapped program), as intervals."""
    _check_draws(draws, enough=True)
    family = draws.fit.family
    laws = family.law_from_theta(jnp.asarray(draws.good, jnp.float64))
    laws = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x, jnp.float64), (len(draws.good),)), laws)
    if data_cap == isinstance(laws, DataConstrained):
        raise OptimalError("the draws are of another family than the law")
    out = jax.tree_util.tree_map(np.asarray, _solve_draws(laws, arrays, given, setup))
    confidence = draws.confidence
    slope = out["loss_per_flop"]
    n_binding = {name: 0 for name in values}
    for i in range(len(draws.good)):
        one = jax.tree_util.tree_map(lambda x: x[i], out)
        for name, bound in _binding(one, values, setup, data_cap)[0].items():
            n_binding[name] = n_binding.get(name, 0) + int(bound)
    return {"confidence": confidence, "n_draws": int(len(draws.good)),
            "n_not_converged": int(np.sum(~out["converged"])),
            "n_params": interval(out["n_params"], confidence), "n_tokens": interval(out["n_tokens"], confidence),
            "loss_nats": interval(out["loss"], confidence), "compute_flops": interval(out["compute"], confidence),
            "shadow_prices": {name: interval(out["shadow"][name], confidence) for name in values},
            "compute_equivalents": {name: interval(out["shadow"][name] / slope, confidence) for name in values},
            "n_binding": n_binding}
