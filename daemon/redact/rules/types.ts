// The detector interface every rule family implements.

export type RedactionKind = 'secret' | 'pii';

export interface RuleInfo {
  readonly id: string;
  readonly kind: RedactionKind;
  /** When spans of different rules overlap, the merged span is named after the highest priority. */
  readonly priority: number;
  readonly description: string;
}

export type Emit = (ruleId: string, start: number, end: number) => void;

export interface Detector {
  readonly name: string;
  readonly revision: number;
  readonly rules: readonly RuleInfo[];
  /** Case-sensitive literals; if none occurs in a text the detector cannot match there. Empty = always run. */
  readonly anchors: readonly string[];
  /**
   * The anchors occur in most texts ('@', '://'). The engine checks rare anchors of all detectors
   * in one combined scan; frequent ones would make that scan stop constantly, so they get includes().
   */
  readonly frequentAnchors?: boolean;
  /** Detectors that only run when the named option is on. */
  readonly optIn?: 'ipAddresses';
  /**
   * ASCII literals, matched ignoring case, at one of which every match of the detector starts.
   * The engine finds them in its combined scan, runs the detector only where one occurs, and
   * passes their start offsets (ascending) to detect(); called without them, the detector finds
   * them itself.
   */
  readonly startLiterals?: readonly string[];
  detect(text: string, emit: Emit, starts?: readonly number[]): void;
}
