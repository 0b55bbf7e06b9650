/**
 * Optimizers built by a function or method of the script and returned from it (a factory), and —
 * for `--to module` — those built by a method of a model class, which the script calls on its
 * model (nanoGPT's and minGPT's `optimizer = model.configureOptimizers(...)`).
 */
import type { CallExpression, Identifier, NewExpression } from "ts-morph";
import { Node, unwrap } from "../morph.ts";
import type { OptimizerInstance, ScriptAnalysis } from "./types.ts";

/** `new optim.X(...)` inside a function or method that returns it: a factory, paired at its call. */
export function isFactoryOptimizer(construction: NewExpression): boolean {
  let parent = construction.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent))) parent = parent.getParent();
  if (parent && Node.isReturnStatement(parent)) return true;
  // `return [model, new optim.SGD(model.parameters())]` (nn_tutorial's getModel)
  if (parent && Node.isArrayLiteralExpression(parent)) {
    let up = parent.getParent();
    while (up && (Node.isParenthesizedExpression(up) || Node.isAsExpression(up))) up = up.getParent();
    if (up && Node.isReturnStatement(up)) return true;
  }
  if (parent && Node.isVariableDeclaration(parent)) {
    const name = parent.getNameNode();
    const fn = parent.getFirstAncestor((a) => Node.isMethodDeclaration(a) || Node.isFunctionDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    if (!fn || !Node.isIdentifier(name)) return false;
    // `return optimizer;`, or `return [trainSet, model, optimizer];` (the DDP tutorial's load_train_objs)
    return fn.getDescendants().some((d) => {
      if (!Node.isReturnStatement(d) || d.getExpression() === undefined) return false;
      const e = unwrap(d.getExpression()!);
      return e.getText() === name.getText() || (Node.isArrayLiteralExpression(e) && e.getElements().some((x) => unwrap(x).getText() === name.getText()));
    });
  }
  return false;
}

/**
 * `const optimizer = model.configureOptimizers(...)` where the method of `model`'s class builds and
 * returns the optimizer: the optimizer is the script's variable, made by that call
 * (`OptimizerInstance.factoryCall`), and trains that model. Each such optimizer of `analysis`
 * is replaced by one per variable the script binds it to.
 */
export function modelMethodOptimizers(analysis: ScriptAnalysis): OptimizerInstance[] {
  const out: OptimizerInstance[] = [];
  for (const o of analysis.optimizers) {
    const method = isFactoryOptimizer(o.construction) ? o.construction.getFirstAncestor((a) => Node.isMethodDeclaration(a)) : undefined;
    const cls = method?.getParent();
    if (!method || !Node.isMethodDeclaration(method) || !cls || !Node.isClassDeclaration(cls) || !analysis.modelClasses.includes(cls)) {
      out.push(o);
      continue;
    }
    const bound = analysis.models.flatMap((model) => {
      if (model.className !== cls.getName() || !Node.isIdentifier(model.declaration.getNameNode())) return [];
      return analysis.references.usesOf(model.declaration.getNameNode() as Identifier).flatMap((use) => {
        const access = use.getParent();
        const call = access?.getParent();
        if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== method.getName() || !call || !Node.isCallExpression(call)) return [];
        let up: Node | undefined = call.getParent();
        while (up && (Node.isParenthesizedExpression(up) || Node.isAwaitExpression(up))) up = up.getParent();
        if (!up || !Node.isVariableDeclaration(up) || !Node.isIdentifier(up.getNameNode())) return [];
        const instance: OptimizerInstance = { ...o, declaration: up, name: up.getName(), models: [model], factoryCall: call as CallExpression };
        model.optimizers.push(instance);
        return [instance];
      });
    });
    out.push(...(bound.length > 0 ? bound : [o]));
  }
  return out;
}

/** Where the script makes the optimizer: the factory call it binds, or the construction itself. */
export function optimizerSite(o: OptimizerInstance): Node {
  return o.factoryCall ?? o.construction;
}
