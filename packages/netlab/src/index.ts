export { createRng, deriveSeed } from './rng.ts';
export type { Rng } from './rng.ts';
export {
  WLAN_TWO_STATE,
  createLossProcess,
  gilbertElliott,
  meanBurstLength,
  randomLoss,
  stationaryBadShare,
  stationaryLossRate,
} from './gilbert-elliott.ts';
export type { GilbertElliottParams, LossModel, LossProcess } from './gilbert-elliott.ts';
export { createDelayProcess, expectedDelayMs, normalizeDelayModel } from './delay-model.ts';
export type { DelayDecision, DelayModel, DelayProcess } from './delay-model.ts';
export { createImpairmentProcess } from './impairment.ts';
export type { Impairment, ImpairmentProcess, PacketFate } from './impairment.ts';
export { createUdpRelay } from './udp-relay.ts';
export type { DirectionStats, Endpoint, RelayStats, UdpRelay, UdpRelayOptions } from './udp-relay.ts';
export {
  clearBandwidth,
  createLab,
  listNamespaces,
  nsExec,
  nsSpawn,
  readUdpCounters,
  removeStale,
  requireRoot,
  setBandwidth,
  setRandomDrop,
} from './netns.ts';
export type {
  BandwidthOptions,
  CounterValue,
  Direction,
  ExecOptions,
  ExecResult,
  Lab,
  LabOptions,
  LabSide,
  UdpCounters,
} from './netns.ts';
