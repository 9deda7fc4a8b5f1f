"""The update rules of fastgen.NADE's minibatch training, on the backend's arrays: plain SGD
(with optional classical momentum) and Adam (Kingma & Ba, 2015), both ascending the mean
log-likelihood. Their state is plain data (arrays and a step count), so that it pickles and
a later partial_fit goes on where the last one stopped."""
from __future__ import annotations

ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8


def new_state(kind, xp, parameters):
    """The state of optimizer `kind` ("sgd" or "adam") before its first step."""
    if kind == "adam":
        return {"kind": kind, "step": 0, "first": [xp.zeros_like(p) for p in parameters],
                "second": [xp.zeros_like(p) for p in parameters]}
    return {"kind": kind, "step": 0, "velocity": [xp.zeros_like(p) for p in parameters]}


def step(state, xp, parameters, gradients, learning_rate, momentum):
    """One ascent step of `parameters` (updated in place) along `gradients`."""
    state["step"] += 1
    if state["kind"] == "adam":
        beta1, beta2 = ADAM_BETAS
        t = state["step"]
        # torch.optim.Adam's form: lr m / (1 - beta1^t) / (sqrt(s / (1 - beta2^t)) + epsilon)
        size = learning_rate / (1 - beta1**t)
        root_correction = (1 - beta2**t) ** 0.5
        for p, g, m, s in zip(parameters, gradients, state["first"], state["second"]):
            m *= beta1
            m += (1 - beta1) * g
            s *= beta2
            s += (1 - beta2) * (g * g)
            p += (size * m) / (xp.sqrt(s) / root_correction + ADAM_EPSILON)
        return
    for p, g, velocity in zip(parameters, gradients, state["velocity"]):
        if momentum:
            velocity *= momentum
            velocity += learning_rate * g
            p += velocity
        else:
            p += learning_rate * g
