/**
 * What counts as a device, a device move and a device condition.
 *
 * A plain script names devices in many ways: `"cuda"`, `"cuda:0"`, `` `cuda:${rank}` ``,
 * `cuda.isAvailable() ? "cuda" : "cpu"`, `device("cuda")`, a `const device = ...` variable, a
 * `device` parameter of a helper, `args.device`. A `.to(x)` whose argument is none of those is
 * not stripped (it might be a dtype cast one day); it is marked for a human instead.
 */
import { Node, SyntaxKind, unwrap } from "../morph.ts";
import type { Expression, Identifier } from "ts-morph";
import type { ReferenceIndex } from "./references.ts";
import type { LocalFunction } from "./types.ts";

export const DEVICE_NAME = /^(cpu|cuda|gpu|webgpu|wasm|mps)(:\d+)?$/;
/** Names people give devices: `device`, `dev`, `trainDevice`, `gpu`. */
export const DEVICE_LIKE_NAME = /device|^dev$|^(gpu|cuda|cpu)$/i;
/** Names of GPU indices passed to `.to(...)`: `rank`, `localRank`, `gpu`, `gpuId`, `deviceId`. */
const DEVICE_INDEX_NAME = /^(local_?)?rank$|^gpu(_?id)?$|^device_?(id|index)$/i;

export class DeviceClassifier {
  private readonly memo = new Map<Node, boolean>();

  constructor(
    private readonly refs: ReferenceIndex,
    /** `torchPath` bound to the script's torch import. */
    private readonly pathOf: (n: Node) => string | null,
    /** Local function owning a parameter, to look at what its callers pass. */
    private readonly functionOfParameter: (param: Node) => LocalFunction | undefined,
  ) {}

  /** True when `expr` evaluates to a device name or `Device`. */
  isDeviceExpression(expr: Node): boolean {
    const e = unwrap(expr);
    if (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) {
      return DEVICE_NAME.test(e.getLiteralValue());
    }
    if (Node.isTemplateExpression(e)) {
      return /^(cuda|gpu):$/.test(e.getHead().getLiteralText());
    }
    if (Node.isConditionalExpression(e)) {
      return this.isDeviceExpression(e.getWhenTrue()) && this.isDeviceExpression(e.getWhenFalse());
    }
    if (Node.isCallExpression(e) || Node.isNewExpression(e)) {
      const path = this.pathOf(e.getExpression());
      // `accelerator.currentAccelerator()`: PyTorch ≥ 2.6's idiom in current upstream examples.
      return path === "device" || path === "Device" || path === "accelerator.currentAccelerator";
    }
    if (Node.isPropertyAccessExpression(e)) {
      return DEVICE_LIKE_NAME.test(e.getName()) && this.pathOf(e) === null;
    }
    if (Node.isIdentifier(e)) return this.isDeviceBinding(e);
    return false;
  }

  /** A variable initialised with a device, or a parameter that receives one. */
  private isDeviceBinding(id: Identifier): boolean {
    const decl = this.refs.declarationOf(id);
    if (!decl) return false;
    const cached = this.memo.get(decl);
    if (cached !== undefined) return cached;
    this.memo.set(decl, false); // cycle guard: `let d = d2; let d2 = d;`
    let result = false;
    if (Node.isVariableDeclaration(decl) && Node.isIdentifier(decl.getNameNode())) {
      const init = decl.getInitializer();
      result = init !== undefined ? this.isDeviceExpression(init) : this.isAssignedOnlyDevices(decl.getNameNode() as Identifier);
    } else if (Node.isParameterDeclaration(decl) && Node.isIdentifier(decl.getNameNode())) {
      result = this.isDeviceParameter(decl);
    }
    this.memo.set(decl, result);
    return result;
  }

  /**
   * `let device; if (useAccel) device = accelerator.currentAccelerator(); else device = "cpu";`:
   * a variable declared without a value whose every assignment is a device.
   */
  isAssignedOnlyDevices(name: Identifier): boolean {
    let writes = 0;
    for (const use of this.refs.usesOf(name)) {
      const parent = use.getParent();
      if (!parent || !Node.isBinaryExpression(parent) || parent.getLeft() !== use) continue;
      if (parent.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || !this.isDeviceExpression(parent.getRight())) return false;
      writes++;
    }
    return writes > 0;
  }

  /** A parameter named like a device, or one every caller passes a device to. */
  isDeviceParameter(param: Node): boolean {
    if (!Node.isParameterDeclaration(param) || !Node.isIdentifier(param.getNameNode())) return false;
    if (DEVICE_LIKE_NAME.test(param.getName())) return true;
    const init = param.getInitializer();
    if (init && this.isDeviceExpression(init)) return true;
    const fn = this.functionOfParameter(param);
    if (!fn || fn.calls.length === 0) return false;
    const index = fn.node.getParameters().indexOf(param);
    return fn.calls.every((call) => {
      const arg = call.getArguments()[index];
      return arg !== undefined && this.isDeviceExpression(arg);
    });
  }

  /**
   * A side-effect-free expression that only reads device state: `cuda.isAvailable()`,
   * `cuda.deviceCount() > 1`, `useCuda && !cpuOnly`, a device variable compared to a literal.
   */
  isDeviceCondition(expr: Node): boolean {
    let readsDevice = false;
    const pure = (n: Node): boolean => {
      const e = unwrap(n);
      if (Node.isCallExpression(e)) {
        const path = this.pathOf(e.getExpression());
        if (
          (path === "cuda.isAvailable" || path === "cuda.deviceCount" || path === "accelerator.isAvailable" || path === "accelerator.deviceCount") &&
          e.getArguments().length === 0
        ) {
          readsDevice = true;
          return true;
        }
        return false;
      }
      if (Node.isPrefixUnaryExpression(e)) {
        return e.getOperatorToken() === SyntaxKind.ExclamationToken && pure(e.getOperand());
      }
      if (Node.isBinaryExpression(e)) {
        const op = e.getOperatorToken().getKind();
        const allowed = [
          SyntaxKind.AmpersandAmpersandToken,
          SyntaxKind.BarBarToken,
          SyntaxKind.EqualsEqualsEqualsToken,
          SyntaxKind.ExclamationEqualsEqualsToken,
          SyntaxKind.EqualsEqualsToken,
          SyntaxKind.ExclamationEqualsToken,
          SyntaxKind.GreaterThanToken,
          SyntaxKind.GreaterThanEqualsToken,
          SyntaxKind.LessThanToken,
          SyntaxKind.LessThanEqualsToken,
        ];
        return allowed.includes(op) && pure(e.getLeft()) && pure(e.getRight());
      }
      if (Node.isIdentifier(e)) {
        if (this.isDeviceExpression(e) || this.isDeviceStateVariable(e)) readsDevice = true;
        return true;
      }
      if (Node.isPropertyAccessExpression(e)) {
        if (DEVICE_LIKE_NAME.test(e.getName())) readsDevice = true;
        return pure(e.getExpression());
      }
      return (
        Node.isStringLiteral(e) ||
        Node.isNumericLiteral(e) ||
        Node.isNoSubstitutionTemplateLiteral(e) ||
        Node.isTrueLiteral(e) ||
        Node.isFalseLiteral(e) ||
        Node.isNullLiteral(e) ||
        e.getKind() === SyntaxKind.ThisKeyword
      );
    };
    return pure(expr) && readsDevice;
  }

  /** `const useCuda = cuda.isAvailable();` and the like. */
  isDeviceStateVariable(id: Identifier): boolean {
    const decl = this.refs.declarationOf(id);
    if (!decl || !Node.isVariableDeclaration(decl)) return false;
    const init = decl.getInitializer();
    return init !== undefined && (this.isDeviceExpression(init) || this.isDeviceCondition(init));
  }

  /** `.to(0)`, `.to(rank)`, `.to(args.gpu)`: a GPU index (tfjs tensors have no integer `.to` besides a device). */
  isDeviceIndex(expr: Node): boolean {
    const e = unwrap(expr);
    if (Node.isNumericLiteral(e)) return true;
    const name = Node.isIdentifier(e) ? e.getText() : Node.isPropertyAccessExpression(e) ? e.getName() : null;
    return name !== null && DEVICE_INDEX_NAME.test(name);
  }

  /** Initialiser of a variable that only holds device state (what makes it removable once unread). */
  isDeviceInitializer(init: Expression): boolean {
    return this.isDeviceExpression(init) || this.isDeviceCondition(init);
  }
}
