// What this person may ask for (GET /api/v1/choices): the forms offer only that.
import { useEffect, useState } from 'preact/hooks';
import { api } from './http.js';

interface Quota { limit: number | null; held: number }
interface Range { min: number; max: number; default: number }

/** A RentalClass a Rental may name: the admin's terms (sudo, longest TTL); the default one is used when none is named. */
export interface RentalClassChoice { name: string; default: boolean; allowSudo: boolean; maxTtlSeconds?: number }

/** A MachineClass a Lab may name: its images, limits and playbooks (never where its machines are made). */
export interface MachineClassChoice {
  name: string;
  default: boolean;
  images: string[];
  limits: { cpu?: number; memoryMiB?: number; diskGiB?: number; machines?: number };
  playbooks: string[];
}

/** A MachineClass that offers desktops: its images, limits, whether AD and a home share are there, its longest TTL. */
export interface DesktopClassChoice {
  name: string;
  default: boolean;
  images: string[];
  limits: { cpu?: number; memoryMiB?: number; diskGiB?: number };
  adJoin: boolean;
  pamMount: boolean;
  maxTtlSeconds?: number;
}

export interface Choices {
  namespace: string;
  rental: Quota & { offered: boolean; registeredKeys: number; ttlSeconds: { min: number; max: number }; classes: RentalClassChoice[] };
  desktop: Quota & { offered: boolean; classes: DesktopClassChoice[]; maxTtlSeconds: number; extendSeconds: number[] };
  lab: Quota & { offered: boolean; classes: MachineClassChoice[]; sizes: { count: Range; cpu: Range; memoryMiB: Range; diskGiB: Range } };
  job: { offered: boolean; recipes: string[] };
}

export function useChoices(): { choices: Choices | undefined; error: string } {
  const [choices, setChoices] = useState<Choices | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    api<Choices>('GET', '/api/v1/choices').then(setChoices, (err: Error) => setError(err.message));
  }, []);
  return { choices, error };
}
