// The part of jstat (https://github.com/jstat/jstat) the impact statistics use.
declare module 'jstat' {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  export const jStat: {
    readonly studentt: Distribution;
    readonly normal: Distribution;
  };
}
