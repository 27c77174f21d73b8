import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import {
  DeviceExistsError,
  DeviceRepository,
  validateSegment,
  type AudienceEstimate,
  type Device,
  type DeviceUpdateData,
} from '@tidegate/database';
import { MAX_DEVICE_ID, canonicalLocale, canonicalZone } from '@tidegate/database';
import { DEVICE_FIELDS, RULES, deviceProblems, toDeviceData } from './device-rules';
import { UPDATABLE_FIELDS, type DeviceView, type RegisterDeviceDto, type RegisteredDeviceView, type UpdateDeviceDto } from './devices.dto';

/** Device ids in URLs: a positive 64-bit integer in decimal. */
export function parseDeviceId(value: string): bigint {
  if (!/^[0-9]{1,19}$/.test(value) || BigInt(value) < 1n || BigInt(value) > MAX_DEVICE_ID) {
    throw new BadRequestException(['id must be a device id: a positive integer (digits only)']);
  }
  return BigInt(value);
}

export function toDeviceView(device: Device): DeviceView {
  return {
    id: device.id.toString(),
    platform: device.platform,
    token: device.token,
    user_id: device.userId,
    timezone: device.timezone,
    locale: device.locale,
    tags: device.tags,
    app_version: device.appVersion,
    active: device.active,
    deactivated_reason: device.deactivatedReason,
    last_seen_at: device.lastSeenAt,
    created_at: device.createdAt,
    updated_at: device.updatedAt,
  };
}

@Injectable()
export class DevicesService {
  constructor(private readonly devices: DeviceRepository) {}

  async register(dto: RegisterDeviceDto): Promise<RegisteredDeviceView> {
    // The DTO's decorators applied the same rules; this also catches a body built without the ValidationPipe.
    const record = { ...dto } as Record<string, unknown>;
    const problems = deviceProblems(record, DEVICE_FIELDS);
    if (problems.length > 0) throw new BadRequestException(problems.map((p) => p.message));
    const { device, created } = await this.devices.register(toDeviceData(record));
    return { ...toDeviceView(device), created };
  }

  async get(id: bigint): Promise<DeviceView> {
    const device = await this.devices.findById(id);
    if (!device) throw new NotFoundException(`no device with id ${id}`);
    return toDeviceView(device);
  }

  async update(id: bigint, dto: UpdateDeviceDto): Promise<DeviceView> {
    const fields = UPDATABLE_FIELDS.filter((f) => dto[f] !== undefined);
    if (fields.length === 0) throw new BadRequestException([`the body must set at least one of: ${UPDATABLE_FIELDS.join(', ')}`]);
    const current = await this.devices.findById(id);
    if (!current) throw new NotFoundException(`no device with id ${id}`);
    if ((dto.p256dh === undefined) !== (dto.auth === undefined)) {
      throw new BadRequestException([
        `${dto.p256dh === undefined ? 'auth' : 'p256dh'} must be sent with ${dto.p256dh === undefined ? 'p256dh' : 'auth'}`,
      ]);
    }
    if (dto.p256dh !== undefined) {
      const merged = { platform: current.platform, p256dh: dto.p256dh, auth: dto.auth };
      const problems = (['p256dh', 'auth'] as const).flatMap((f) => {
        const problem = RULES[f](merged[f], merged);
        return problem ? [`${f} ${problem}`] : [];
      });
      if (problems.length > 0) throw new BadRequestException(problems);
    }
    const data: DeviceUpdateData = {
      p256dh: dto.p256dh?.replace(/=+$/, ''),
      auth: dto.auth?.replace(/=+$/, ''),
      userId: dto.user_id,
      timezone: dto.timezone === undefined ? undefined : (canonicalZone(dto.timezone) ?? undefined),
      locale: dto.locale === undefined ? undefined : dto.locale === null ? null : canonicalLocale(dto.locale),
      tags: dto.tags === undefined ? undefined : [...new Set(dto.tags)],
      appVersion: dto.app_version,
    };
    try {
      const updated = await this.devices.update(id, data);
      if (!updated) throw new NotFoundException(`no device with id ${id}`);
      return toDeviceView(updated);
    } catch (err) {
      if (err instanceof DeviceExistsError) throw new ConflictException(err.message);
      throw err;
    }
  }

  /** Deactivates (never deletes: stats keep pointing at the row). Deleting twice is fine. */
  async remove(id: bigint): Promise<DeviceView> {
    const device = await this.devices.deactivate(id, 'deleted');
    if (!device) throw new NotFoundException(`no device with id ${id}`);
    return toDeviceView(device);
  }

  async estimate(body: unknown): Promise<AudienceEstimate> {
    const checked = validateSegment(body ?? {}, '');
    if (!checked.ok) throw new BadRequestException(checked.errors.map((e) => e.message));
    return this.devices.estimate(checked.segment);
  }
}
