/**
 * DDP's reducer (PyTorch's `Reducer`): the gradients of the replicated parameters averaged over
 * the ranks in buckets, each started on the collectives thread as soon as every gradient in it
 * is complete, while the backward pass goes on computing the earlier layers' (PyTorch overlaps
 * the same way, from its post-accumulate hooks: torch/autograd/grad_ready_hooks.ts here).
 *
 * Buckets are laid out in reverse parameter order — about the order a backward pass completes
 * them — the first up to 1 MiB (or `capBytes` if smaller) and the others up to `capBytes`
 * (PyTorch's `_DEFAULT_FIRST_BUCKET_BYTES` and `bucket_cap_mb`, 25 MiB). They start strictly in
 * order, so every rank starts the same all-reduces in the same order whatever order its own
 * gradients complete in; a parameter the pass does not reach counts as ready from its start
 * (DDP's `find_unused_parameters`). The averages replace the gradients once the pass is over.
 * Each element is the float32 sum in ring order divided by the world size, as before (on 2
 * ranks, bit for bit the same whatever the buckets; on more, the ring's order for an element
 * depends on where the bucket puts it).
 */
import { tf } from "../../torch/tf.ts";
import { getGrad, setGrad } from "../../torch/autograd/grad_store.ts";
import { onGradReady } from "../../torch/autograd/grad_ready_hooks.ts";
import { withFinally, chain, type MaybePromise } from "../core/maybe_async.ts";
import type { SyncCollectives } from "../plugins/collectives/sync_collectives.ts";

const FIRST_BUCKET_BYTES = 1 << 20;

interface Bucket {
  params: tf.Variable[];
  /** Float offsets of the params in a bucket of all of them. */
  offsets: number[];
  size: number;
}

export class GradientReducer {
  private readonly buckets: Bucket[] = [];
  /** Each parameter's bucket and float offset in it. */
  private readonly slot = new Map<tf.Variable, { bucket: number; offset: number }>();

  constructor(params: tf.Variable[], capBytes: number) {
    for (const p of [...params].reverse()) {
      let current = this.buckets[this.buckets.length - 1];
      const cap = this.buckets.length <= 1 ? Math.min(FIRST_BUCKET_BYTES, capBytes) : capBytes;
      if (current === undefined || (current.size > 0 && 4 * (current.size + p.size) > cap)) {
        current = { params: [], offsets: [], size: 0 };
        this.buckets.push(current);
      }
      this.slot.set(p, { bucket: this.buckets.length - 1, offset: current.size });
      current.params.push(p);
      current.offsets.push(current.size);
      current.size += p.size;
    }
  }

  /** The parameters of each bucket, in the order they are reduced (for tests). */
  get layout(): tf.Variable[][] {
    return this.buckets.map((b) => b.params);
  }

  /** Runs `backward` with the buckets starting as their gradients complete, then writes the averages. */
  reduce(collectives: SyncCollectives, backward: () => MaybePromise<void>): MaybePromise<void> {
    const filled = this.buckets.map((b) => ({ values: new Float32Array(b.size), ready: 0 }));
    const started: Array<{ bucket: Bucket; pending: { wait(): Float32Array } }> = [];
    let next = 0;
    const startReady = () => {
      for (; next < this.buckets.length && filled[next]!.ready === this.buckets[next]!.params.length; next++) {
        started.push({ bucket: this.buckets[next]!, pending: collectives.startAllReduce(filled[next]!.values, "mean", true) });
      }
    };
    // A parameter with no gradient is averaged as zeros (every rank sends the same layout) and
    // keeps none: only those holding a gradient after the pass get the average.
    const fill = (p: tf.Variable, grad: tf.Tensor | null) => {
      const at = this.slot.get(p);
      if (at === undefined) return;
      if (grad !== null) filled[at.bucket]!.values.set(grad.dataSync() as Float32Array, at.offset);
      filled[at.bucket]!.ready++;
    };
    // Backward passes this call ran: one, normally; none or two from a module's own `backward`
    // override (one that skips it, or backpropagates two losses).
    let passes = 0;
    const remove = onGradReady({
      // What the pass will not reach is ready now, with the gradient it holds (accumulated by
      // earlier passes under noBackwardSync) or none: an unused layer holds no bucket back.
      start: (reached) => {
        if (++passes > 1) return;
        for (const p of this.slot.keys()) if (!reached.has(p)) fill(p, getGrad(p));
        startReady();
      },
      ready: (p, grad) => {
        if (passes > 1) return;
        fill(p, grad);
        startReady();
      },
    });
    const finish = () => {
      if (passes !== 1) {
        // The first pass's buckets averaged what a second pass then added to: their results are
        // taken (every rank started the same ones) and superseded; every bucket starts again
        // from what the gradients hold now, on every rank alike.
        for (const { pending } of started.splice(0)) pending.wait();
        next = 0;
      }
      for (; next < this.buckets.length; next++) {
        const bucket = this.buckets[next]!;
        const values = new Float32Array(bucket.size);
        bucket.params.forEach((p, k) => {
          const g = getGrad(p);
          if (g !== null) values.set(g.dataSync() as Float32Array, bucket.offsets[k]!);
        });
        started.push({ bucket, pending: collectives.startAllReduce(values, "mean", true) });
      }
      for (const { bucket, pending } of started) {
        const mean = pending.wait();
        bucket.params.forEach((p, k) => {
          const at = bucket.offsets[k]!;
          if (getGrad(p) !== null) setGrad(p, tf.tensor(mean.subarray(at, at + p.size), p.shape, "float32"));
        });
      }
    };
    return chain(withFinally(backward, remove), finish);
  }
}
