/**
 * A fake clock for timeout behaviour without measuring time: `setTimeout`/`clearTimeout` are faked
 * and never advanced, everything else (I/O callbacks, setImmediate, nextTick, Date) stays real.
 * While it is on, a timeout armed by the code under test cannot fire; so a promise that settles
 * anyway settled for another reason (a complete response, a closed connection), and
 * `jest.getTimerCount()` tells whether the code cleared its timer afterwards.
 */
export function stopTimeouts(): void {
  jest.useFakeTimers({
    doNotFake: [
      'Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame',
      'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval',
    ],
  });
}

export function restartTimeouts(): void {
  jest.useRealTimers();
}
