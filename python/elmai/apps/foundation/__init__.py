"""A land foundation model (issue 27): a ClimaX/ORBIT-style vision transformer pretrained
on monthly global maps of many testbed worlds, fine-tuned to forecasting and downscaling.

Modules, one job each: `variables` (the channel catalogue), `worlds` (simulate one world
to monthly maps), `corpus` (the chunked NetCDF store and its reader), `model` (the ViT),
`sizes` (named configurations), `checkpoint` (atomic, resumable, model card), `pretrain`
(the objective and the loop, single process, DDP or FSDP2), `tasks` (fine-tuning data),
`baselines`, `metrics`, `finetune`, `figures`, `config` (strict YAML).
Torch is imported only by the modules that need it."""

__all__: list[str] = []
