import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { ROLES, type Role } from '@tidegate/contracts';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-deploys', description: 'What the key is for' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[\w .@-]+$/, { message: 'name may contain letters, digits, spaces and _ . @ -' })
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role!: Role;
}

export class ApiKeyView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The first characters after tg_, to recognise the key' }) prefix!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) lastUsedAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date }) revokedAt!: Date | null;
}

export class CreatedApiKeyView extends ApiKeyView {
  @ApiProperty({ description: 'The key itself. Shown only in this response: store it now.' })
  key!: string;
}

export class CallerView {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty() keyName!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
}
