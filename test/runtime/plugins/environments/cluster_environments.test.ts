/**
 * The launchers' environments, as Lightning reads them: torchrun, SLURM, MPI (Open MPI and
 * PMI), Kubeflow; which one a process is in; where rank 0's store is and which variables said so.
 */
import { describe, expect, it, afterEach } from "vitest";
import {
  TorchElasticEnvironment,
  SLURMEnvironment,
  MPIEnvironment,
  KubeflowEnvironment,
  LightningEnvironment,
  detectClusterEnvironment,
  Connector,
  DDPStrategy,
} from "lightning-ts";
import { firstHost } from "../../../../src/runtime/plugins/environments/slurm_environment";

const ranks = (e: { worldSize(): number; globalRank(): number; localRank(): number; nodeRank(): number }) => [e.worldSize(), e.globalRank(), e.localRank(), e.nodeRank()];

describe("cluster environments", () => {
  it("torchrun: RANK, LOCAL_RANK, GROUP_RANK, WORLD_SIZE; the store at MASTER_ADDR:MASTER_PORT; the agent store flag", () => {
    const env = { TORCHELASTIC_RUN_ID: "r1", RANK: "5", LOCAL_RANK: "1", GROUP_RANK: "2", LOCAL_WORLD_SIZE: "2", WORLD_SIZE: "8", MASTER_ADDR: "10.0.0.4", MASTER_PORT: "29500", TORCHELASTIC_USE_AGENT_STORE: "True" };
    const e = detectClusterEnvironment(env);
    expect(e).toBeInstanceOf(TorchElasticEnvironment);
    expect(ranks(e)).toEqual([8, 5, 1, 2]);
    expect(e.createsProcessesExternally).toBe(true);
    expect((e as TorchElasticEnvironment).usesAgentStore).toBe(true);
    expect(e.mainAddress()).toEqual({ host: "10.0.0.4", port: 29500, source: "MASTER_ADDR:MASTER_PORT (set by torchrun)" });
    expect(() => e.validateSettings(2, 2)).toThrow("torchrun started WORLD_SIZE=8 processes, but devices=2 × numNodes=2 = 4");
    expect(() => e.validateSettings(2, 4)).not.toThrow();
  });

  it("SLURM: SLURM_PROCID/LOCALID/NODEID/NTASKS; the first host of SLURM_NODELIST and 15000 + the job id's last four digits", () => {
    const env = { SLURM_NTASKS: "4", SLURM_PROCID: "3", SLURM_LOCALID: "1", SLURM_NODEID: "1", SLURM_NODELIST: "gpu[007-008,012]", SLURM_JOB_ID: "1234567", SLURM_JOB_NAME: "train" };
    const e = detectClusterEnvironment(env);
    expect(e).toBeInstanceOf(SLURMEnvironment);
    expect(ranks(e)).toEqual([4, 3, 1, 1]);
    expect(e.mainAddress()).toEqual({ host: "gpu007", port: 19567, source: "SLURM_NODELIST, port 15000 + SLURM_JOB_ID's last four digits" });
    expect(new SLURMEnvironment({ ...env, MASTER_PORT: "4000" }).mainAddress().port).toBe(4000);
    // an interactive allocation is not a launched job
    expect(detectClusterEnvironment({ ...env, SLURM_JOB_NAME: "bash" })).toBeInstanceOf(LightningEnvironment);
    expect(() => e.validateSettings(1, 2)).toThrow("SLURM started SLURM_NTASKS=4 tasks, but devices=1 × numNodes=2 = 2");
  });

  it("firstHost expands SLURM's bracket ranges, keeping zero padding", () => {
    expect(firstHost("node[003-005,010],gpu7")).toBe("node003");
    expect(firstHost("gpu7,node[1-2]")).toBe("gpu7");
    expect(firstHost("a-host.cluster")).toBe("a-host.cluster");
    expect(firstHost("n[12,4-5]")).toBe("n12");
  });

  it("MPI: Open MPI's and PMI's variables; rank 0's host must be given across nodes", () => {
    const ompi = { OMPI_COMM_WORLD_RANK: "3", OMPI_COMM_WORLD_LOCAL_RANK: "1", OMPI_COMM_WORLD_SIZE: "4", OMPI_COMM_WORLD_LOCAL_SIZE: "2" };
    const e = detectClusterEnvironment(ompi);
    expect(e).toBeInstanceOf(MPIEnvironment);
    expect(ranks(e)).toEqual([4, 3, 1, 1]);
    expect(() => e.mainAddress()).toThrow("set MASTER_ADDR to its host");
    expect(new MPIEnvironment({ ...ompi, MASTER_ADDR: "h0" }).mainAddress()).toEqual({ host: "h0", port: 12910, source: "MASTER_ADDR:MASTER_PORT" });
    const oneNode = new MPIEnvironment({ OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_LOCAL_RANK: "1", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_LOCAL_SIZE: "2" });
    expect(oneNode.mainAddress().host).toBe("127.0.0.1");
    const pmi = detectClusterEnvironment({ PMI_RANK: "2", PMI_SIZE: "3", MPI_LOCALRANKID: "2" });
    expect(ranks(pmi)).toEqual([3, 2, 2, 0]);
  });

  it("Kubeflow PyTorchJob: one process per pod, its RANK its node", () => {
    const env = { KUBERNETES_PORT: "tcp://10.0.0.1:443", MASTER_ADDR: "job-master-0", MASTER_PORT: "23456", WORLD_SIZE: "3", RANK: "2" };
    const e = detectClusterEnvironment(env);
    expect(e).toBeInstanceOf(KubeflowEnvironment);
    expect(ranks(e)).toEqual([3, 2, 0, 2]);
    expect(e.mainAddress().host).toBe("job-master-0");
  });

  it("none of them: Lightning's own environment, one process, MASTER_ADDR defaulting to this machine", () => {
    const e = detectClusterEnvironment({});
    expect(e).toBeInstanceOf(LightningEnvironment);
    expect(ranks(e)).toEqual([1, 0, 0, 0]);
    expect(e.mainAddress()).toEqual({ host: "127.0.0.1", port: 0, source: "MASTER_ADDR:MASTER_PORT" });
  });

  describe("the connector", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    });

    it("picks the environment the process runs in; a multi-process one runs DDP at the rank it gives", () => {
      Object.assign(process.env, { SLURM_NTASKS: "2", SLURM_PROCID: "1", SLURM_LOCALID: "1", SLURM_NODEID: "0", SLURM_NODELIST: "n1", SLURM_JOB_NAME: "t" });
      const c = new Connector({ accelerator: "cpu" });
      expect(c.clusterEnvironment).toBeInstanceOf(SLURMEnvironment);
      expect(c.strategy).toBeInstanceOf(DDPStrategy);
      expect([c.strategy.globalRank, c.strategy.localRank, c.strategy.worldSize]).toEqual([1, 1, 2]);
      process.env.SLURM_NTASKS = "1";
      expect(new Connector({ accelerator: "cpu" }).clusterEnvironment).toBeInstanceOf(SLURMEnvironment);
    });
  });
});
