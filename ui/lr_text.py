"""Words and formulas for each scheduler (t = scheduler steps so far, eta_0 = the base LR).

Each formula is implemented in core/lr_formulas.py and checked against torch in the tests.
"""

from __future__ import annotations

SUMMARY: dict[str, str] = {
    "StepLR": "Multiplies the LR by gamma every step_size steps: a staircase.",
    "MultiStepLR": "Multiplies the LR by gamma at each milestone: a staircase with chosen steps.",
    "ExponentialLR": "Multiplies the LR by gamma after every step: a smooth geometric decay.",
    "CosineAnnealingLR": "Half a cosine from the base LR down to eta_min over T_max steps. It "
                         "is periodic: past T_max it climbs back up.",
    "CosineAnnealingWarmRestarts": "SGDR: cosine decays that restart at the base LR, each cycle "
                                   "T_mult times longer than the last.",
    "OneCycleLR": "Warm up from max_lr / div_factor to max_lr, then anneal far below the start; "
                  "momentum moves the other way. Meant to be stepped after every batch.",
    "CyclicLR": "Triangle waves between base_lr and max_lr (CLR). The amplitude can halve each "
                "cycle (triangular2) or decay by gamma per step (exp_range).",
    "LinearLR": "Multiplies the base LR by a factor going linearly from start_factor to "
                "end_factor over total_iters steps: the usual warmup.",
    "ConstantLR": "Multiplies the base LR by factor until total_iters, then uses the base LR.",
    "PolynomialLR": "Decays the LR along (1 - t / T) ** power, reaching zero at total_iters "
                    "(with power 0 it stays at the base LR).",
    "MultiplicativeLR": "Multiplies the current LR by your formula at every step (so the "
                        "factors compound).",
    "LambdaLR": "Sets the LR to the base LR times your formula of the step count.",
    "ReduceLROnPlateau": "Watches a validation metric and cuts the LR when it stops improving "
                         "for more than `patience` epochs.",
    "SequentialLR": "Hands over from one scheduler to the next at the milestones (e.g. a "
                    "linear warmup, then cosine). Each one restarts from its own beginning "
                    "(MultiplicativeLR carries on; OneCycleLR and a leading CyclicLR move the "
                    "starting LR: see the notes).",
    "ChainedScheduler": "Steps all its schedulers at every step, so the factors of "
                        "multiplying schedulers multiply (e.g. a warmup times a decay running "
                        "from step 0). Schedulers that set the LR outright break that: see "
                        "the notes.",
}

LATEX: dict[str, str] = {
    "StepLR": r"\eta_t = \eta_0\,\gamma^{\lfloor t / \mathrm{step\_size} \rfloor}",
    "MultiStepLR": r"\eta_t = \eta_0\,\gamma^{\,|\{m \in \mathrm{milestones}\,:\,m \le t\}|}",
    "ExponentialLR": r"\eta_t = \eta_0\,\gamma^{t}",
    "CosineAnnealingLR": r"\eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})"
                         r"\left(1 + \cos\frac{\pi t}{T_{max}}\right)",
    "CosineAnnealingWarmRestarts": r"\begin{aligned}\eta_t &= \eta_{min} + \tfrac12(\eta_0 - "
                                   r"\eta_{min})\left(1 + \cos\frac{\pi T_{cur}}{T_i}\right)\\"
                                   r"T_i &= T_0\,T_{mult}^{\,i}\ \text{(length of cycle } i"
                                   r"\text{)}\end{aligned}",
    "OneCycleLR": r"\begin{aligned}\eta_{start} &= \mathrm{max\_lr}\,/\,\mathrm{div\_factor}\\"
                  r"\eta_{end} &= \eta_{start}\,/\,\mathrm{final\_div\_factor}\\"
                  r"\text{phase } a \to b\!:\ \eta &= b + \tfrac12(a - b)(1 + \cos \pi p)"
                  r"\end{aligned}",
    "CyclicLR": r"\begin{aligned}c &= \left\lfloor 1 + \frac{t}{s_{up} + s_{down}} \right\rfloor"
                r"\ \text{(cycle)},\quad h(t) \in [0, 1]\ \text{(triangle)}\\"
                r"\eta_t &= \eta_{base} + (\eta_{max} - \eta_{base})\,h(t)\,"
                r"\mathrm{scale}(c \text{ or } t)\end{aligned}",
    "LinearLR": r"\eta_t = \eta_0\left(f_s + (f_e - f_s)\frac{\min(t, T)}{T}\right)",
    "ConstantLR": r"\eta_t = \eta_0 \cdot \begin{cases}\mathrm{factor} & t < T\\ 1 & t \ge T"
                  r"\end{cases}",
    "PolynomialLR": r"\eta_t = \eta_0\left(1 - \frac{\min(t, T)}{T}\right)^{p}",
    "MultiplicativeLR": r"\eta_t = \eta_{t-1}\, f(t),\quad \eta_t = \eta_0 \prod_{k=1}^{t} f(k)",
    "LambdaLR": r"\eta_t = \eta_0\, f(t)",
    "ReduceLROnPlateau": r"\begin{aligned}&\text{better} \iff m < \mathrm{best}\,(1 - "
                         r"\mathrm{threshold})\quad(\text{mode min, rel})\\"
                         r"&\text{after patience} + 1 \text{ bad epochs: } \eta \leftarrow "
                         r"\max(\eta \cdot \mathrm{factor},\ \mathrm{min\_lr})\end{aligned}",
    "SequentialLR": r"\eta_t = S_k(t - m_k)\quad \text{for } m_k \le t < m_{k+1},\; m_0 = 0",
    "ChainedScheduler": r"\eta_t = \eta_0 \prod_i f_i(t)\quad"
                        r"\text{(each scheduler multiplies the LR in turn)}",
}
