/** Base class of every error gradlab throws on bad input, so callers can tell them from bugs. */
export class GradlabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class ShapeError extends GradlabError {}
export class DTypeError extends GradlabError {}
export class AutogradError extends GradlabError {}
export class IOError extends GradlabError {}
/** A tensor on the wrong device, or a synchronous read of a device tensor. */
export class DeviceError extends GradlabError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
