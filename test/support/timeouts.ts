// Integration and e2e tests talk to real services and start processes; bounds, not expectations of speed.
jest.setTimeout(60_000);
