/**
 * Text summaries as `torch.utils.tensorboard` writes them (`summary.text`): the text plugin's
 * metadata (TextPluginData version 0, which serializes to no bytes) and a one-element DT_STRING
 * tensor holding the UTF-8 text; TensorBoard renders it as Markdown.
 */
import { DT_STRING, type SummaryValueMessage } from "../event_protos.ts";

export function textSummary(tag: string, text: string): SummaryValueMessage {
  return {
    tag,
    metadata: { plugin_data: { plugin_name: "text", content: new Uint8Array() } },
    tensor: { dtype: DT_STRING, tensor_shape: { dim: [{ size: 1 }] }, string_val: [new TextEncoder().encode(text)] },
  };
}
