"""The interpretable LSTM (iLSTM; IMV-LSTM of Guo, Lin and Antulov-Fantulin, ICML 2019, as
the seed's explanation system uses it): a hidden-state matrix with one row per input
variable (each driver's own LSTM state, updated by variable-wise gates, static attributes
fed to every row), then for each predicted day
- temporal attention per variable over its last `span` hidden states (which lags matter),
- variable attention over the variables' summaries (which driver matters),
and the prediction is the variable-attention mixture of per-variable outputs. Both
attentions are softmax-normalised, so they read directly as importances."""

from __future__ import annotations

import torch
from torch import nn


class ILSTM(nn.Module):
    record = False  # keep the last attentions (alpha: n x day x var x lag, beta: n x day x var)

    def __init__(
        self, n_dynamic: int, n_static: int, hidden: int = 16, span: int = 60, last: int = 30
    ) -> None:
        super().__init__()
        self.n, self.d, self.span, self.last = n_dynamic, hidden, span, last
        self.w = nn.Parameter(torch.randn(n_dynamic, hidden, 4 * hidden) * hidden**-0.5)
        self.u = nn.Parameter(torch.randn(n_dynamic, 1 + n_static, 4 * hidden) * 0.3)
        b = torch.zeros(n_dynamic, 4 * hidden)
        b[:, hidden : 2 * hidden] = 3.0  # forget-gate bias, as in the LSTM here
        self.b = nn.Parameter(b)
        self.att_t = nn.Linear(hidden, 1)
        self.att_v = nn.Linear(2 * hidden, 1)
        self.out = nn.Parameter(torch.randn(n_dynamic, 2 * hidden) * (2 * hidden) ** -0.5)
        self.out_b = nn.Parameter(torch.zeros(n_dynamic))
        self.alpha: torch.Tensor | None = None
        self.beta: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, static: torch.Tensor | None = None) -> torch.Tensor:
        bsz, steps, _ = x.shape
        static = x.new_zeros(bsz, 0) if static is None else static
        # per variable input: its own value plus the static attributes
        inp = torch.cat([x[..., None], static[:, None, None, :].expand(-1, steps, self.n, -1)], dim=-1)
        # input part of every gate, variable-major (var x step x batch x 4d): bmm per variable
        k = inp.shape[-1]
        pre = torch.bmm(inp.permute(2, 1, 0, 3).reshape(self.n, steps * bsz, k), self.u)
        pre = pre.view(self.n, steps, bsz, -1) + self.b[:, None, None, :]
        h = x.new_zeros(self.n, bsz, self.d)  # var x batch x d
        c = torch.zeros_like(h)
        states = []
        for t, pre_t in enumerate(pre.unbind(1)):  # unbind: one backward stack, not one per step
            g = pre_t + torch.bmm(h, self.w)
            i, f, o, j = g.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(j)
            h = torch.sigmoid(o) * torch.tanh(c)
            if t >= steps - self.last - self.span + 1:
                states.append(h)
        hs = torch.stack(states, dim=0).permute(2, 0, 1, 3)  # b x (last + span - 1) x var x d
        win = hs.unfold(1, self.span, 1)  # b x last x var x d x span
        win = win.permute(0, 1, 2, 4, 3)  # b x last x var x span x d
        alpha = torch.softmax(self.att_t(torch.tanh(win)).squeeze(-1), dim=-1)
        summary = (alpha[..., None] * win).sum(-2)  # b x last x var x d
        now = win[..., -1, :]
        z = torch.cat([summary, now], dim=-1)
        beta = torch.softmax(self.att_v(torch.tanh(z)).squeeze(-1), dim=-1)  # over variables
        per_var = torch.einsum("blnk,nk->bln", z, self.out) + self.out_b
        y = (beta * per_var).sum(-1)
        if self.record:
            self.alpha, self.beta = alpha.detach(), beta.detach()
        return torch.cat([y.new_zeros(bsz, steps - self.last), y], dim=1)  # earlier days: not predicted
