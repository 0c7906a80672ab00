"""The multimodal AI spin-up model: one encoder per data type, a transformer over tokens,
heads for PFT-level and (column, level) pools.

Tokens per gridcell: 1 forcing token (a GRU over the 12 climatological months), 1 static
token (MLP), 17 PFT tokens (traits, weight and early pools, plus a PFT embedding) and 10
soil-level tokens (early pools of the 8 soil pools and their climatological decay rates,
plus a level embedding). Absent PFTs
are masked out of attention. The model carries its normalisation (log1p then
standardisation, fitted on training cells), so it takes and returns physical units and
the exported TorchScript file needs nothing else.

Hard constraints: pools are exp of a log-space output minus one, clamped at zero; PFT
pools are zero where the PFT weight is zero and on bare ground, and wood pools are zero
for non-woody PFTs; soil levels that hold no carbon in any training cell stay zero.
"""

from __future__ import annotations

import torch
from torch import nn

from elmai.data.features import PFT_PARAMETERS, PFT_POOLS
from elmai.io.elm_names import NATPFT, NLEVDECOMP
from elmai.models.quasi_equilibrium import soil_quasi_equilibrium, wood_quasi_equilibrium

WOOD_POOLS = [i for i, p in enumerate(PFT_POOLS) if "stem" in p or "croot" in p]


def mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, n_out))


class SpinupTransformer(nn.Module):
    def __init__(
        self,
        stats: dict[str, tuple[torch.Tensor, torch.Tensor]],
        traits: torch.Tensor,
        soil_used: torch.Tensor,
        respired: torch.Tensor,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        n_force, n_static = stats["forcing"][0].numel(), stats["static"][0].numel()
        n_trait, n_pft_pool = traits.shape[1] + 1, stats["pft_early"][0].numel()
        n_soil_pool = stats["soil_early"][0].shape[-1]
        for group, (mean, std) in stats.items():
            self.register_buffer(f"{group}_mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer(f"{group}_std", torch.as_tensor(std, dtype=torch.float32))
        self.register_buffer("traits", torch.as_tensor(traits, dtype=torch.float32))
        woody = torch.as_tensor(traits[:, PFT_PARAMETERS.index("woody")] > 0)
        # (PFT, pool) slots that can hold carbon: wood only on woody PFTs, nothing on bare
        # ground (PFT 0, which ELM's checks require to stay empty)
        pool_mask = torch.ones(NATPFT, n_pft_pool)
        pool_mask[:, WOOD_POOLS] = woody[:, None].float()
        pool_mask[0] = 0.0
        self.register_buffer("pool_mask", pool_mask)
        # (level, soil pool) entries that hold carbon anywhere in the training cells; the rest
        # (levels below the rooting depth) are structurally zero
        self.register_buffer("soil_used", torch.as_tensor(soil_used, dtype=torch.float32))
        self.register_buffer("rf", torch.as_tensor(respired, dtype=torch.float32))  # per soil pool
        self.register_buffer("flivewd", self.traits[:, PFT_PARAMETERS.index("flivewd")].clone())
        self.forcing_encoder = nn.GRU(n_force, d_model, batch_first=True)
        self.static_encoder = mlp(n_static, d_model, d_model)
        self.pft_encoder = mlp(n_trait + 2 * n_pft_pool, d_model, d_model)
        self.soil_encoder = mlp(3 * n_soil_pool, d_model, d_model)
        self.pft_embedding = nn.Parameter(torch.zeros(NATPFT, d_model))
        self.level_embedding = nn.Parameter(torch.zeros(NLEVDECOMP, d_model))
        self.type_embedding = nn.Parameter(torch.zeros(4, d_model))
        nn.init.normal_(self.pft_embedding, std=0.02)
        nn.init.normal_(self.level_embedding, std=0.02)
        nn.init.normal_(self.type_embedding, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, 2 * d_model, dropout, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pft_head = mlp(2 * d_model, n_pft_pool, d_model)
        self.soil_head = mlp(2 * d_model, n_soil_pool, d_model)

    def _norm(self, x: torch.Tensor, group: str, log: bool) -> torch.Tensor:
        if log:
            x = torch.log1p(torch.clamp(x, min=0.0))
        return (x - getattr(self, f"{group}_mean")) / getattr(self, f"{group}_std")

    def normalized(
        self,
        forcing: torch.Tensor,
        static: torch.Tensor,
        pft_weight: torch.Tensor,
        pft_early: torch.Tensor,
        soil_early: torch.Tensor,
        soil_rate: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised log-space predictions (B, NATPFT, pft pools), (B, NLEVDECOMP, soil pools)."""
        b = forcing.shape[0]
        _, h = self.forcing_encoder(self._norm(forcing, "forcing", False))
        t_force = h[-1] + self.type_embedding[0]
        t_static = self.static_encoder(self._norm(static, "static", False)) + self.type_embedding[1]
        traits = torch.cat([self.traits.expand(b, -1, -1), pft_weight.unsqueeze(-1)], dim=-1)
        # the physics prior (elmai.models.quasi_equilibrium), in the targets' normalised space:
        # a feature and the base the heads correct
        pft_qe = self._norm(wood_quasi_equilibrium(pft_early, self.flivewd), "pft_target", True)
        soil_qe = self._norm(soil_quasi_equilibrium(soil_early, soil_rate, self.rf), "soil_target", True)
        pft_in = torch.cat(
            [self._norm(traits, "traits", False), self._norm(pft_early, "pft_early", True), pft_qe], -1
        )
        t_pft = self.pft_encoder(pft_in) + self.pft_embedding + self.type_embedding[2]
        soil_in = torch.cat(
            [self._norm(soil_early, "soil_early", True), self._norm(soil_rate, "decay_rate", True), soil_qe],
            -1,
        )
        t_soil = self.soil_encoder(soil_in) + self.level_embedding
        t_soil = t_soil + self.type_embedding[3]
        tokens = torch.cat([t_force.unsqueeze(1), t_static.unsqueeze(1), t_pft, t_soil], dim=1)
        absent = torch.cat(
            [
                torch.zeros(b, 2, dtype=torch.bool, device=forcing.device),
                pft_weight <= 0,
                torch.zeros(b, NLEVDECOMP, dtype=torch.bool, device=forcing.device),
            ],
            1,
        )
        z = self.transformer(tokens, src_key_padding_mask=absent)
        cell = z[:, :2].mean(dim=1, keepdim=True)  # the cell's climate and surface context
        pft = self.pft_head(torch.cat([z[:, 2 : 2 + NATPFT], cell.expand(-1, NATPFT, -1)], -1))
        soil = self.soil_head(torch.cat([z[:, 2 + NATPFT :], cell.expand(-1, NLEVDECOMP, -1)], -1))
        return pft + pft_qe, soil + soil_qe

    def to_physical(
        self, pft: torch.Tensor, soil: torch.Tensor, pft_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pools (gC/m2 per PFT, gC/m3 per level) from standardised log space, with the hard
        constraints applied."""
        pft_log = pft * self.pft_target_std + self.pft_target_mean
        soil_log = soil * self.soil_target_std + self.soil_target_mean
        mask = (pft_weight > 0).unsqueeze(-1).to(pft.dtype) * self.pool_mask
        pft_c = torch.clamp(torch.expm1(torch.clamp(pft_log, max=30.0)), min=0.0) * mask
        soil_c = torch.clamp(torch.expm1(torch.clamp(soil_log, max=30.0)), min=0.0) * self.soil_used
        return pft_c, soil_c

    def forward(
        self,
        forcing: torch.Tensor,
        static: torch.Tensor,
        pft_weight: torch.Tensor,
        pft_early: torch.Tensor,
        soil_early: torch.Tensor,
        soil_rate: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pft, soil = self.normalized(forcing, static, pft_weight, pft_early, soil_early, soil_rate)
        return self.to_physical(pft, soil, pft_weight)


INPUT_NAMES = ("forcing", "static", "pft_weight", "pft_early", "soil_early", "soil_rate")
OUTPUT_NAMES = ("pft_pools", "soil_pools")
