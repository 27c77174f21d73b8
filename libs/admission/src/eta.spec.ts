import { estimateWaitSeconds, roomPressure } from './eta';

describe('waiting estimates', () => {
  it('estimates the wait from the measured admission rate', () => {
    expect(estimateWaitSeconds(115, 60)).toBe(115);
    expect(estimateWaitSeconds(1, 600)).toBe(1);
    expect(estimateWaitSeconds(0, 600)).toBe(0);
    expect(estimateWaitSeconds(10, 0)).toBeNull();
  });

  it('computes the pressure against the wait budget', () => {
    expect(roomPressure(0, 0, 60)).toBe(0);
    expect(roomPressure(120, 60, 60)).toBe(2);
    expect(roomPressure(30, 60, 60)).toBe(0.5);
    expect(roomPressure(10, 0, 60)).toBeNull();
  });
});
