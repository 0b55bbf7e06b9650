/** `nn.utils`: gradient clipping (`clipGradNorm`, `clipGradValue`). */
export * from "./clip_grad.ts";
