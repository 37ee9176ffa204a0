/** Measures loss rate and mean loss-burst length of a 0/1 loss sequence. */
export function lossStats(lost: ArrayLike<boolean>): { rate: number; meanBurst: number; bursts: number } {
  let losses = 0;
  let bursts = 0;
  for (let i = 0; i < lost.length; i++) {
    if (!lost[i]) continue;
    losses++;
    if (i === 0 || !lost[i - 1]) bursts++;
  }
  return { rate: losses / lost.length, meanBurst: bursts === 0 ? 0 : losses / bursts, bursts };
}
