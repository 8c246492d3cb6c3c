// Recorded dumps (test/fixtures/*.bin, recorded by scripts/record-fixture.py
// with what ss printed right after, in the .json sidecar), parsed by the
// pure parser into the batches a live dump yields: no root, no netlink.
import fs from 'node:fs';
import path from 'node:path';
import { addon } from '../../src/diag/native';
import { SocketBatch } from '../../src/diag/socket-batch';
import { FIXTURES } from './paths';

export interface Sidecar {
  seq: number;
  family: number;
  familyName: 'inet' | 'inet6';
  protocol: number;
  protocolName: string;
  states: number;
  ext: number;
  ssCommand: string;
  ss: string;
  note: string;
}

export interface Fixture {
  name: string;
  bytes: Uint8Array;
  meta: Sidecar;
}

export function loadFixture(name: string): Fixture {
  const file = path.join(FIXTURES, name);
  return {
    name,
    bytes: new Uint8Array(fs.readFileSync(file)),
    meta: JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Sidecar,
  };
}

/** The fixture's rows as one batch, with the column groups its request asked for. */
export function fixtureBatch(fixture: Fixture, columns?: number): SocketBatch {
  const { meta } = fixture;
  const groups = (meta.ext & 0x02 ? 1 : 0) | (meta.ext & 0x40 ? 2 : 0);
  const result = addon.parse(fixture.bytes, {
    family: meta.family,
    protocol: meta.protocol,
    states: meta.states,
    extensions: meta.ext,
    groups,
    batchRows: 4096,
    timeoutMs: 1000,
    legacy: false,
    seq: meta.seq,
    ...(columns === undefined ? {} : { columns }),
  });
  if (result.status !== 'done') {
    throw new Error(`${fixture.name}: parse ended with ${result.status} ${result.detail}`);
  }
  return new SocketBatch(result.count, result.columns);
}
