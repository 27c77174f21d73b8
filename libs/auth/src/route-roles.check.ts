import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '@tidegate/observability';
import { REQUIRED_ROLE } from './roles.decorator';

const PATH_METADATA = 'path';
const METHOD_METADATA = 'method';

/** Refuses to boot an app with a route that declares neither `@RequireRole(...)` nor `@Public()`. */
@Injectable()
export class RouteRolesCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const undeclared = this.undeclaredRoutes();
    if (undeclared.length > 0) {
      throw new Error(`admin routes without @RequireRole or @Public: ${undeclared.join(', ')}`);
    }
  }

  undeclaredRoutes(): string[] {
    const out: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || !wrapper.metatype) continue;
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as (...args: unknown[]) => unknown;
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const targets = [handler, wrapper.metatype];
        const declared =
          this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) ||
          this.reflector.getAllAndOverride<string | undefined>(REQUIRED_ROLE, targets);
        if (!declared) out.push(`${wrapper.metatype.name}.${name} (${String(Reflect.getMetadata(PATH_METADATA, handler))})`);
      }
    }
    return out;
  }
}
