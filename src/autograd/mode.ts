let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = on;
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new Error("noGrad/enableGrad take a synchronous callback; await inside it escapes the mode");
    }
    return r;
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn without recording operations for autograd and returns what it returns. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with recording on, also inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function setGradEnabled(on: boolean): void {
  gradEnabled = on;
}
