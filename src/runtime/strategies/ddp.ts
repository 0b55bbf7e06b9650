/**
 * Multi-process data-parallel training (Fabric's `DDPStrategy`): one process per device, the
 * model replicated, every rank on its own share of each batch (DistributedSampler), and the
 * gradients averaged over the ranks after every backward, so every replica takes the same step.
 *
 * Setup: without an external launcher (torchrun, SLURM, mpirun, a Kubeflow job set the ranks in
 * the environment), the first process starts the other local ranks itself
 * (launchers/subprocess_script.ts). Every rank then joins the job through the TCPStore at
 * MASTER_ADDR:MASTER_PORT (rank 0 serves it unless torchrun's agent does) and the collectives'
 * ring (plugins/collectives/). `setupModule` broadcasts rank 0's parameters and buffers, as
 * PyTorch's DDP constructor does.
 *
 * Gradients are averaged in buckets, each started as its gradients complete, while backward goes
 * on (ddp_reducer.ts, as PyTorch's reducer); the arithmetic — a float32 sum in ring order, then
 * a division by the world size — is what Gloo computes.
 */
import { tf } from "../../torch/tf.ts";
import { Device } from "../../torch/device.ts";
import { noGrad } from "../../torch/autograd/grad_mode.ts";
import type { Module } from "../../torch/nn/module.ts";
import type { Accelerator } from "../accelerators/accelerator.ts";
import { withFinally, type MaybePromise } from "../core/maybe_async.ts";
import type { ClusterEnvironment } from "../plugins/environments/cluster_environment.ts";
import { SyncCollectives } from "../plugins/collectives/sync_collectives.ts";
import type { Precision, PrecisionBackwardOptions } from "../plugins/precision/precision.ts";
import { launchLocalRanks } from "./launchers/subprocess_script.ts";
import { GradientReducer } from "./ddp_reducer.ts";
import { Strategy, type DistributedSamplerSettings, type ReduceOp } from "./strategy.ts";

/** The job this process joined, by address, rank and world size (see setupEnvironment). */
const JOINED = new Map<string, Promise<SyncCollectives>>();

export interface DDPStrategyOptions {
  accelerator?: Accelerator;
  precision?: Precision;
  /** The devices of this node, one process each. */
  parallelDevices: Device[];
  clusterEnvironment: ClusterEnvironment;
  numNodes?: number;
  /** Rendezvous and collective timeout in ms (default 30 s, or LIGHTNING_TS_DDP_TIMEOUT seconds). */
  timeoutMs?: number;
  /** Gradient bucket size in MiB after the first (default 25, or LIGHTNING_TS_DDP_BUCKET_CAP_MB). */
  bucketCapMb?: number;
}

export class DDPStrategy extends Strategy {
  readonly name: string = "ddp";
  readonly parallelDevices: Device[];
  readonly clusterEnvironment: ClusterEnvironment;
  readonly numNodes: number;
  /**
   * Joined once and never left, as Lightning keeps its process group: `trainer.test()` after
   * `fit`, or a callback's barrier in `onFitEnd` (after teardown), still has its ranks. The
   * collectives thread does not keep the process alive.
   */
  private collectives: SyncCollectives | null = null;
  /** The modules setupModule replicated: their gradients are averaged (DDP's reducer hooks). */
  private readonly replicated: Module[] = [];
  private syncGradients = true;
  private reducer: { params: tf.Variable[]; reducer: GradientReducer } | null = null;
  private readonly timeoutMs: number;
  /** The gradient buckets' size after the first (PyTorch's `bucket_cap_mb`, 25; the first is 1 MiB). */
  readonly bucketCapMb: number;

  constructor(options: DDPStrategyOptions) {
    super(options);
    this.parallelDevices = options.parallelDevices;
    this.clusterEnvironment = options.clusterEnvironment;
    this.numNodes = options.numNodes ?? 1;
    const fromEnv = Number(process.env.LIGHTNING_TS_DDP_TIMEOUT);
    this.timeoutMs = options.timeoutMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv * 1000 : 30_000);
    const capFromEnv = Number(process.env.LIGHTNING_TS_DDP_BUCKET_CAP_MB);
    this.bucketCapMb = options.bucketCapMb ?? (Number.isFinite(capFromEnv) && capFromEnv > 0 ? capFromEnv : 25);
  }

  get rootDevice(): Device {
    return this.parallelDevices[this.localRank] ?? this.parallelDevices[0]!;
  }

  get globalRank(): number {
    return this.clusterEnvironment.globalRank();
  }

  get localRank(): number {
    return this.clusterEnvironment.localRank();
  }

  get nodeRank(): number {
    return this.clusterEnvironment.nodeRank();
  }

  get worldSize(): number {
    return this.clusterEnvironment.worldSize();
  }

  override isEnvironmentReady(): boolean {
    return this.collectives !== null && super.isEnvironmentReady();
  }

  /** Starts the other local ranks (unless a launcher did), activates the backend, joins the job. */
  override async setupEnvironment(): Promise<void> {
    const env = this.clusterEnvironment;
    if (!env.createsProcessesExternally) {
      const address = env.mainAddress();
      await launchLocalRanks({
        localWorldSize: this.parallelDevices.length,
        numNodes: this.numNodes,
        nodeRank: env.nodeRank(),
        mainAddress: address.host,
        mainPort: address.port,
      });
      env.setWorldSize(this.parallelDevices.length * this.numNodes);
      env.setGlobalRank(env.nodeRank() * this.parallelDevices.length);
    }
    await super.setupEnvironment();
    const { host, port, source } = env.mainAddress();
    // One job per process, as torch.distributed has one default process group: a second Trainer
    // or Lite in the same script (fit, then test with a new Trainer) joins the same ranks again.
    const key = `${host}:${port}/${this.globalRank}/${this.worldSize}`;
    let joined = JOINED.get(key);
    if (!joined) {
      joined = SyncCollectives.start({
        rank: this.globalRank,
        worldSize: this.worldSize,
        host,
        port,
        // (torchrun's agent serves the store when it says so; otherwise rank 0 does)
        serveStore: this.globalRank === 0 && process.env.TORCHELASTIC_USE_AGENT_STORE !== "True",
        timeoutMs: this.timeoutMs,
        source,
      });
      JOINED.set(key, joined);
      joined.catch(() => JOINED.delete(key));
    }
    this.collectives = await joined;
  }

  private requireCollectives(): SyncCollectives {
    if (!this.collectives) throw new Error("DDPStrategy: the job is not set up yet (setupEnvironment has not finished)");
    return this.collectives;
  }

  /** Every rank starts from rank 0's weights and buffers. */
  override setupModule<M extends Module>(module: M): M {
    const tensors = [...module.parameters(), ...module.buffers()];
    const parts = tensors.map((t) => tensorBytes(t));
    const received = this.requireCollectives().broadcast(Buffer.concat(parts), 0);
    if (!this.isGlobalZero) {
      let offset = 0;
      noGrad(() => {
        tensors.forEach((t, i) => {
          const n = parts[i]!.byteLength;
          t.assign(tensorFromBytes(received.subarray(offset, offset + n), t.shape, t.dtype));
          offset += n;
        });
      });
    }
    this.replicated.push(module);
    return module;
  }

  override backward(loss: tf.Tensor, module: Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    if (!this.syncGradients) return super.backward(loss, module, options);
    return this.reducerFor(module).reduce(this.requireCollectives(), () => super.backward(loss, module, options));
  }

  /** How many parameters each gradient bucket holds, in the order they are averaged (none before the first synchronised backward). */
  get gradientBuckets(): number[] {
    return this.reducer?.reducer.layout.map((b) => b.length) ?? [];
  }

  /**
   * The reducer over the trainable parameters of the replicated modules (or of the module the
   * Trainer names), made again when that set changes (a layer frozen or unfrozen mid-training).
   */
  private reducerFor(module: Module | null): GradientReducer {
    const modules = module && !this.replicated.includes(module) ? [module] : this.replicated;
    const params = [...new Set(modules.flatMap((m) => m.parameters()))].filter((p) => p.trainable);
    const cached = this.reducer;
    if (cached && cached.params.length === params.length && cached.params.every((p, i) => p === params[i])) return cached.reducer;
    const reducer = new GradientReducer(params, this.bucketCapMb * 1024 * 1024);
    this.reducer = { params, reducer };
    return reducer;
  }

  override noBackwardSync<T>(_module: Module, enabled: boolean, fn: () => T): T {
    if (!enabled) return fn();
    const previous = this.syncGradients;
    this.syncGradients = false;
    // (an async fn — the Trainer's closure — keeps synchronisation off until it settles)
    return withFinally(fn, () => {
      this.syncGradients = previous;
    }) as T;
  }

  allReduce(tensor: tf.Tensor, op: ReduceOp): tf.Tensor {
    const values = Float32Array.from(tensor.dataSync() as ArrayLike<number>);
    const reduced = this.requireCollectives().allReduce(values, op);
    const out = tf.tensor(reduced, tensor.shape, "float32");
    return tensor.dtype === "float32" ? out : noGrad(() => tf.cast(out, tensor.dtype));
  }

  allGather(tensor: tf.Tensor, syncGrads: boolean): tf.Tensor {
    const pieces = this.requireCollectives().allGather(Float32Array.from(tensor.dataSync() as ArrayLike<number>));
    const gather = () =>
      tf.stack(pieces.map((p, r) => (r === this.globalRank ? (tensor.dtype === "float32" ? tensor : tf.cast(tensor, "float32")) : tf.tensor(p, tensor.shape, "float32"))));
    // Without syncGrads the result carries no gradient (as torch.distributed's all_gather).
    return syncGrads ? gather() : noGrad(gather);
  }

  broadcast<T>(value: T, src: number): T {
    const c = this.requireCollectives();
    if (value instanceof tf.Tensor) {
      const received = c.broadcast(tensorBytes(value), src);
      return (this.globalRank === src ? value : tensorFromBytes(received, value.shape, value.dtype)) as T;
    }
    // Other values as JSON (Lightning pickles them): numbers, strings, arrays, plain objects.
    const text = this.globalRank === src ? JSON.stringify(value ?? null) : "";
    const received = c.broadcast(new TextEncoder().encode(text), src);
    return (this.globalRank === src ? value : JSON.parse(new TextDecoder().decode(received))) as T;
  }

  barrier(_name?: string): void {
    this.requireCollectives().barrier();
  }

  override distributedSamplerSettings(): DistributedSamplerSettings {
    return { numReplicas: this.worldSize, rank: this.globalRank };
  }
}

function tensorBytes(t: tf.Tensor): Uint8Array {
  const data = t.dataSync() as Float32Array | Int32Array | Uint8Array;
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

function tensorFromBytes(bytes: Uint8Array, shape: number[], dtype: tf.DataType): tf.Tensor {
  const copy = bytes.slice();
  const values = dtype === "int32" ? new Int32Array(copy.buffer) : dtype === "bool" ? new Uint8Array(copy.buffer) : new Float32Array(copy.buffer);
  return tf.tensor(values, shape, dtype);
}
