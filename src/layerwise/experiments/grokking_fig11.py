r"""Experiment ``grokking-fig11``: the authors' Fig. 11 a-e, grokking in a tanh MLP and four ways to remove it by
lowering the weight-to-target ratio (Nam et al. 2025, §7 and Fig. 11).

A network whose weights are large compared with what the target needs fits its training set with barely-changed
features (lazy) and generalises only later; smaller weights, larger targets, smaller inputs or a smaller output
multiplier remove the delay. Setting (the authors' ``fig11_run.py``): tanh MLP ``d-512-512-512-10``, weights
``N(0, (w/sqrt(fan_in))^2)`` with PyTorch's default biases, 1,000 training images (MNIST when given, else
MNIST-1D from its own generator, `layerwise.data.grokking_images`; ``attrs["data_source"]`` says which), MSE on ``target_scale * one_hot``, Adam with coupled L2 weight decay, batch 128. Panel a
(weight scale 5, target 3) groks; b (weights 1), c (target 30), d (inputs x 0.01) and e (output x 0.1) do not. The
five panels are one `train` call (``model_batched=True``, see `_InputScaledMLP`); each of ``seeds`` seeds (its own
image split, init and batches) is one such call, since every run of a call shares the observables' held-out set.
The grokking delay is ``epoch(test acc >= 0.9 x final) - epoch(train acc >= 0.99)`` on a log-spaced epoch grid
(`layerwise.metrics.grokking_epochs`). "Groks" means memorisation first (at the memorisation epoch at most half of
the final above-chance test accuracy is there, `generalisation_at_memorisation`) and then a late rise; the checks
are `check_over_seeds` on per-seed values.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import data, metrics, observables
from layerwise._deprecation import renamed_fields
from layerwise.data.grokking_images import grokking_image_split
from layerwise.engine import log_record_steps, train
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.models import MLP, Model, mlp_init
from layerwise.report.checks import Measurement, check_over_seeds
from layerwise.report.plotting import accuracy_curves, delay_bars, figure_grid
from layerwise.seeds import seed_keys, seed_values

PANELS = ("a", "b", "c", "d", "e")
PANEL_TITLES = {"a": "w 5, target 3", "b": "w 1", "c": "target 30", "d": "input x0.01", "e": "output x0.1"}
PanelValues = F.rule(tuple[F.PositiveFloat, ...], f"one value per panel a-e ({len(PANELS)} values)",
                     lambda values: len(values) == len(PANELS))


@renamed_fields(weight_scales="init_scales")
@F.config_dataclass
class GrokkingFig11Config:
    """Settings of the ``grokking-fig11`` experiment (defaults: the authors' sizes; ``--quick`` narrows the MLP)."""

    seed: F.Seed = 0
    """First seed: each seed draws its own image split, MLP init and batches."""
    seeds: F.Count = 3
    """Number of seeds (>= 3 for the checks' intervals); the checks use the mean of their per-seed values."""
    mnist_path: str | None = None
    """Directory with the MNIST IDX files; None = ``$LAYERWISE_MNIST``, else MNIST-1D generated from the seed."""
    n_train: F.Count = 1000
    """Training images (the authors': 1,000). Test: all of MNIST's 10,000, or 4,000 MNIST-1D signals."""
    mlp_width: F.Count = 512
    """Width of the three hidden tanh layers (the authors': 512)."""
    epochs: F.Count = 2000
    """Training epochs (shuffled mini-batches, the last one partial)."""
    batch_size: F.Count = 128
    """Mini-batch size."""
    learning_rate: F.PositiveFloat = 1e-3
    """Adam learning rate."""
    weight_decay: F.NonNegativeFloat = 1e-4
    """Adam's coupled L2 weight decay, as torch ``Adam(lr=1e-3, weight_decay=1e-4)``."""
    init_scales: PanelValues = (5.0, 1.0, 5.0, 5.0, 5.0)
    """Weight scale w of panels a-e: weights N(0, (w/sqrt(fan_in))^2)."""
    target_scales: PanelValues = (3.0, 3.0, 30.0, 3.0, 3.0)
    """Target scale of panels a-e: targets target x one_hot."""
    input_scales: PanelValues = (1.0, 1.0, 1.0, 0.01, 1.0)
    """Input multiplier of panels a-e."""
    output_scales: PanelValues = (1.0, 1.0, 1.0, 1.0, 0.1)
    """Output multiplier of panels a-e."""
    record_epochs: F.at_least(3) = 40
    """About this many log-spaced epochs at which accuracies are recorded."""


class _InputScaledMLP(Model):
    r"""``f(x) = c_out * MLP(c_in * x)``: the Fig. 11 MLP with its input multiplier ``c_in`` (panel d) as a
    hyperparameter leaf beside the MLP's ``output_scale`` ``c_out`` (panel e), so the five panels, each with its
    own multipliers, train in ONE vmapped `train` call (``model_batched=True``)."""

    mlp: MLP
    input_scale: jax.Array = eqx.field(converter=jnp.asarray)

    in_dim = property(lambda self: self.mlp.in_dim)
    out_dim = property(lambda self: self.mlp.out_dim)
    depth = property(lambda self: self.mlp.depth)

    def apply(self, params, x):
        return self.mlp.apply(params, self.input_scale * x)

    def layers(self, params):
        return self.mlp.layers(params)

    def from_layers(self, layers):
        return self.mlp.from_layers(layers)

    def param_shapes(self):
        return self.mlp.param_shapes()

    def init(self, key, init_scale=1.0, *, parameterisation="fan_in", dtype=None):
        return self.mlp.init(key, init_scale, parameterisation=parameterisation, dtype=dtype)


def _torch_mlp_init(key, model: MLP, init_scale, dtype):
    """The authors' init: ``W ~ N(0, (w/sqrt(fan_in))^2)`` (their ``normal_``), biases left at PyTorch's
    ``nn.Linear`` default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (implemented here exactly)."""
    key_w, key_b = jax.random.split(key)
    weights = mlp_init(key_w, model, init_scale, 0.0, dtype=dtype)
    bounds = [1.0 / np.sqrt(w.shape[1]) for w, _ in weights]
    return tuple((w, jax.random.uniform(layer_key, (w.shape[0],), dtype, -bound, bound))
                 for (w, _), layer_key, bound in zip(weights, jax.random.split(key_b, model.depth), bounds))


@eqx.filter_jit
def _panel_inputs(key, x, y, weight_scales, widths: tuple):
    """One seed's panel params (`_torch_mlp_init` per weight scale) and tasks: one program for every seed."""
    params = jax.vmap(lambda k, w: _torch_mlp_init(k, MLP(widths, activation="tanh"), w, weight_scales.dtype))(
        jax.random.split(jax.random.fold_in(key, 11), len(PANELS)), weight_scales)
    return params, jax.vmap(data.Task.from_samples)(x, y)


def _train_panels(config: GrokkingFig11Config, key, seed: int, epochs):
    """Panels a-e of one seed as one vmapped Adam run: ``(train accuracy, test accuracy)`` (panel, epoch), source."""
    dtype = jnp.float32
    x_train, labels_train, x_test, labels_test, source = grokking_image_split(config.n_train, seed, config.mnist_path)
    weight, target, inputs, outputs = (np.asarray(getattr(config, name), dtype=float) for name in (
        "init_scales", "target_scales", "input_scales", "output_scales"))
    widths = (x_train.shape[1], config.mlp_width, config.mlp_width, config.mlp_width, 10)
    model = _InputScaledMLP(  # float32 conversions on the host (the device's rounding, no program per shape)
        MLP(widths, activation="tanh", output_scale=np.asarray(outputs, dtype)), np.asarray(inputs, dtype))
    x = np.broadcast_to(np.asarray(x_train, dtype), (len(target), *x_train.shape))
    y = np.stack([np.asarray(data.one_hot(labels_train, 10, t), dtype) for t in target])
    params, tasks = _panel_inputs(key, x, y, np.asarray(weight, dtype), widths)
    steps_per_epoch = -(-config.n_train // config.batch_size)
    accuracy = {"train_accuracy": observables.Accuracy(np.asarray(x_train, dtype), np.asarray(labels_train)),
                "test_accuracy": observables.Accuracy(np.asarray(x_test, dtype), np.asarray(labels_test))}
    history = train(model, params, tasks, steps=config.epochs * steps_per_epoch, optimizer="adam",
                    learning_rate=config.learning_rate, weight_decay=config.weight_decay, batch_size=config.batch_size,
                    record_steps=epochs * steps_per_epoch, observables=accuracy, loss="mean_squared_error",
                    key=jax.random.fold_in(key, 12), task_batched=True, model_batched=True,
                    on_divergence="mark").history
    return history.train_accuracy.values, history.test_accuracy.values, source


def simulate(config: GrokkingFig11Config, progress: Progress) -> xr.Dataset:
    epochs = log_record_steps(config.epochs, config.record_epochs)
    runs = []
    for seed, key in zip(seed_values(config.seed, config.seeds), seed_keys(config.seed, config.seeds)):
        runs.append(_train_panels(config, key, int(seed), epochs))
        progress(f"Fig. 11 a-e, seed {seed}: tanh MLP on images")
    train_accuracy, test_accuracy, sources = zip(*runs)
    return xr.Dataset(
        {"nonlinear_train_accuracy": (("seed", "panel", "epoch"), np.stack(train_accuracy)),
         "nonlinear_test_accuracy": (("seed", "panel", "epoch"), np.stack(test_accuracy))},
        coords={"seed": seed_values(config.seed, config.seeds), "panel": list(PANELS), "epoch": epochs,
                **{name[:-1]: ("panel", list(getattr(config, name))) for name in (
                    "init_scales", "target_scales", "input_scales", "output_scales")}},
        attrs={"description": "Grokking in the authors' Fig. 11 tanh MLP (Nam et al. 2025, §7)",
               "data_source": sources[0],
               "mlp": f"tanh MLP d-{config.mlp_width}-{config.mlp_width}-{config.mlp_width}-10, {config.n_train} "
                      f"train images, {config.epochs} epochs, Adam lr {config.learning_rate:g} coupled wd "
                      f"{config.weight_decay:g}, batch {config.batch_size}, float32"})


def _delays(ds: xr.Dataset):
    """``(train epoch, test epoch, delay)`` of every (seed, panel) (`layerwise.metrics.grokking_epochs`)."""
    train_epoch, test_epoch = metrics.grokking_epochs(ds.epoch.values, ds.nonlinear_train_accuracy.values,
                                                      ds.nonlinear_test_accuracy.values)
    return train_epoch, test_epoch, test_epoch - train_epoch


MEMORISED_FRACTION_BOUND = 0.5
"""Claim 16's bound: at the memorisation epoch at most half of the final above-chance test accuracy is reached."""
CHANCE = 0.1
MIN_GAIN = 0.05
"""A final test accuracy within this of chance counts as never generalised: 0.05 is about 7 standard errors of an
accuracy near 0.2 on MNIST-1D's 4,000 test signals (more on MNIST's 10,000)."""


def generalisation_at_memorisation(ds: xr.Dataset) -> np.ndarray:
    r"""``(acc_test(e_train) - 0.1) / (acc_test(final) - 0.1)`` per (seed, panel): the fraction of its final
    above-chance test accuracy a run already has when its train accuracy first reaches 99 %. NaN where it never
    memorises or ends within `MIN_GAIN` of chance (nothing generalised to compare with)."""
    train_epoch, _, _ = _delays(ds)
    test = ds.nonlinear_test_accuracy.values
    index = np.searchsorted(ds.epoch.values, np.nan_to_num(train_epoch, nan=-1.0))
    at_memorisation = np.take_along_axis(test, np.clip(index, 0, test.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    gain = test[..., -1] - CHANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (at_memorisation - CHANCE) / gain
    return np.where(np.isnan(train_epoch) | (gain < MIN_GAIN), np.nan, fraction)


def check(ds: xr.Dataset) -> list:
    train_epoch, _, delay = _delays(ds)
    source = ds.attrs["data_source"]
    others = np.nanmax(np.where(np.isnan(delay[:, 1:]), np.inf, np.maximum(delay[:, 1:], 0)), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # no baseline delay: nothing to be 5x below
        ratio = np.where(delay[:, 0] > 0, others / delay[:, 0], np.inf)
    fraction = generalisation_at_memorisation(ds)
    return [check_over_seeds(
        "fig11a_memorises_first", f"panel a (w 5, target 3) on {source} memorises first: when its train accuracy "
        f"first reaches 99 %, its test accuracy has at most {MEMORISED_FRACTION_BOUND:g} of its final gain over "
        "chance (0.1), i.e. (acc(e_train) - 0.1) / (acc_final - 0.1) <= 0.5. A smooth lag, where test accuracy "
        "rises with the train accuracy and is already most of the way there at memorisation, fails this; a "
        f"run ending within {MIN_GAIN:g} of chance fails too", fraction[:, 0], upper=MEMORISED_FRACTION_BOUND),
        check_over_seeds(
        "fig11a_late_rise", f"panel a on {source} rises late: the test accuracy reaches 90 % of its final value at "
        "least as many epochs after memorisation (train acc >= 99 %) as memorisation took (per-seed delay / "
        "memorisation epoch)", delay[:, 0] / train_epoch[:, 0], lower=1.0), check_over_seeds(
        "fig11b_to_e_no_delay", f"panels b (w 1), c (target 30), d (input 0.01), e (output 0.1) on {source}: every "
        "delay (negative counted as 0; never memorised = inf, a failure) is at most 1/5 of panel a's (per-seed "
        "ratio max(b..e) / a)", ratio, upper=0.2),
        Measurement("fig11_generalised_fraction_at_memorisation", "per panel a-e, seed mean: (test acc at the "
                    "memorisation epoch - 0.1) / (final test acc - 0.1)", np.mean(fraction, axis=0)),
        Measurement("fig11_final_test_accuracy", "final test accuracy per panel a-e, seed mean",
                    ds.nonlinear_test_accuracy.values[:, :, -1].mean(axis=0)),
        Measurement("fig11_delays", "grokking delay in epochs per panel a-e, seed mean", np.mean(delay, axis=0))]


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    train_epoch, test_epoch, delay = (np.mean(v, axis=0) for v in _delays(ds))
    figure, axes = figure_grid(2, 3, width=4.6, height=3.7, title="Fig. 11: grokking in a tanh MLP — nonlinear "
                               f"network dotted (width {config.mlp_width}, {config.epochs} epochs; seed mean)")
    for j, (panel, ax) in enumerate(zip(PANELS, axes.ravel())):
        accuracy_curves(ax, ds.epoch.values, ds.nonlinear_train_accuracy.mean("seed").values[j],
                        ds.nonlinear_test_accuracy.mean("seed").values[j], train_epoch[j], test_epoch[j])
        ax.set(xlabel="epoch (log; 0 at 0.5)", title=f"11{panel}. {PANEL_TITLES[panel]}: delay {delay[j]:g}")
        if j == 0:
            ax.set_ylabel(f"accuracy ({ds.attrs['data_source']})")
            ax.legend(fontsize=8, loc="lower right")
    delay_bars(axes[1, 2], [f"11{p}" for p in PANELS], delay)
    axes[1, 2].set(xlabel="grokking delay (epochs), < 0 shown as 0", title="delays")
    return {"grokking_fig11": figure}


EXPERIMENT = Experiment(
    name="grokking-fig11",
    description="Grokking in the authors' Fig. 11 tanh MLP (a) and four ratio levers that remove it (b-e)",
    config_type=GrokkingFig11Config,
    quick={"mlp_width": 128, "epochs": 2000},
    presets={"test": {"mlp_width": 16, "epochs": 6, "n_train": 200, "record_epochs": 5}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: config.seeds,
)
