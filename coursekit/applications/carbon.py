r"""The energy and carbon footprint of training a model, after Strubell, Ganesh and McCallum (2019).

"Energy and Policy Considerations for Deep Learning in NLP" (ACL 2019) estimates a training
run's electricity from the average power its hardware draws, scaled by the data centre's power
usage effectiveness (PUE, the facility's total power over its computing power; 1.58 was the
2018 industry average), and turns kilowatt-hours into pounds of CO2-equivalent emitted with the
U.S. Environmental Protection Agency's average for the U.S. power mix, 0.954 lbs per kWh. The
chapter ``docs/applications/open-problems.md`` reproduces the paper's table with it.
"""

from __future__ import annotations

from coursekit._validation import nonnegative, nonnegative_int, real

__all__ = ["EVERYDAY_CO2E_LBS", "co2e_lbs", "energy_kwh"]

#: Everyday emissions in lbs of CO2e that Strubell et al. (2019, table 1) set beside training.
EVERYDAY_CO2E_LBS: dict[str, int] = {
    "Air travel, 1 passenger, New York <-> San Francisco": 1_984,
    "Human life, average, 1 year": 11_023,
    "American life, average, 1 year": 36_156,
    "Car, average incl. fuel, 1 lifetime": 126_000,
}


def energy_kwh(
    hours: float,
    cpu_watts: float = 0,
    dram_watts: float = 0,
    gpu_watts: float = 0,
    num_gpus: int = 1,
    pue: float = 1.58,
) -> float:
    r"""Energy drawn from the grid by a training run, in kilowatt-hours.

    With $t$ hours of training, average CPU power $p_c$, DRAM power $p_r$, $g$ GPUs of average
    power $p_g$ each (all in watts) and the data centre's power usage effectiveness PUE,

    $$
    p_t = \frac{\mathrm{PUE} \cdot t \cdot (p_c + p_r + g \cdot p_g)}{1000}
    $$

    (Strubell et al., 2019, equation 1).

    Args:
        hours: the training time $t$, at least 0.
        cpu_watts: the average power of the CPUs, $p_c$.
        dram_watts: the average power of the main memory, $p_r$.
        gpu_watts: the average power of one GPU, $p_g$.
        num_gpus: the number of GPUs $g$, an integer at least 0.
        pue: the power usage effectiveness, at least 1 (1 means every watt reaches the
            computers; 1.58 is the paper's 2018 average).

    Returns:
        The energy in kWh.

    Raises:
        ValueError: naming the argument, if a time or power is negative, not finite or not a
            number (bools are refused), ``num_gpus`` is not a nonnegative integer, or
            ``pue < 1``.

    Examples:
        >>> from coursekit.applications.carbon import energy_kwh
        >>> round(energy_kwh(84, gpu_watts=1515.43), 1)  # Transformer (big), 84 h
        201.1
        >>> energy_kwh(1, gpu_watts=250, num_gpus=4, pue=1.0)  # 4 GPUs of 250 W, 1 h
        1.0
        >>> energy_kwh(-1)
        Traceback (most recent call last):
        ...
        ValueError: hours must be a nonnegative finite number, got -1.0
    """
    hours = nonnegative(hours, "hours")
    cpu_watts = nonnegative(cpu_watts, "cpu_watts")
    dram_watts = nonnegative(dram_watts, "dram_watts")
    gpu_watts = nonnegative(gpu_watts, "gpu_watts")
    num_gpus = nonnegative_int(num_gpus, "num_gpus")
    pue = real(pue, "pue", minimum=1.0)  # the facility's total power includes the computers'
    return pue * hours * (cpu_watts + dram_watts + num_gpus * gpu_watts) / 1000


def co2e_lbs(kwh: float, lbs_per_kwh: float = 0.954) -> float:
    r"""Pounds of CO2-equivalent emitted to produce ``kwh`` of electricity.

    $$
    \mathrm{CO_2e} = 0.954 \, p_t
    $$

    with the U.S. EPA's 0.954 lbs per kWh for the average U.S. power mix (Strubell et al., 2019,
    equation 2); pass another ``lbs_per_kwh`` for another grid.

    Args:
        kwh: the energy $p_t$ in kilowatt-hours, at least 0 (see ``energy_kwh``).
        lbs_per_kwh: the grid's emissions per kilowatt-hour, at least 0.

    Returns:
        The emissions in lbs of CO2e.

    Raises:
        ValueError: if ``kwh`` or ``lbs_per_kwh`` is negative, not finite or not a number.

    Examples:
        >>> from coursekit.applications.carbon import co2e_lbs, energy_kwh
        >>> round(co2e_lbs(energy_kwh(84, gpu_watts=1515.43)))  # Transformer (big)
        192
        >>> round(co2e_lbs(100), 1)  # 100 kWh on the average U.S. grid
        95.4
        >>> co2e_lbs(100, lbs_per_kwh=0.5)  # a cleaner grid
        50.0
    """
    kwh, lbs_per_kwh = nonnegative(kwh, "kwh"), nonnegative(lbs_per_kwh, "lbs_per_kwh")
    return lbs_per_kwh * kwh
