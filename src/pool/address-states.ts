// The state of each address index, in pages of one byte per address that exist only while they hold a non-free state.

import { PAGE_SIZE } from './permutation.ts';

export const FREE = 0; // free and not on the free list (the frontier has not reached it)
export const IN_USE = 1;
export const FREE_LISTED = 2; // free, and its index waits on the free list
export const QUARANTINED = 3;
export const MARKED = 4; // transient, while the free list is compacted

interface Page {
  states: Uint8Array;
  tracked: number; // entries that are not FREE
}

export class AddressStates {
  private readonly pages = new Map<number, Page>();
  // The frontier and the free list tend to stay on one page for a while.
  private lastNumber = -1;
  private lastPage: Page | undefined;

  get pageCount(): number {
    return this.pages.size;
  }

  get(index: number): number {
    const number = Math.floor(index / PAGE_SIZE);
    const page = number === this.lastNumber ? this.lastPage : this.lookup(number);
    return page === undefined ? FREE : page.states[index - number * PAGE_SIZE]!;
  }

  set(index: number, state: number): void {
    const number = Math.floor(index / PAGE_SIZE);
    let page = number === this.lastNumber ? this.lastPage : this.lookup(number);
    if (page === undefined) {
      if (state === FREE) return;
      page = { states: new Uint8Array(PAGE_SIZE), tracked: 0 };
      this.pages.set(number, page);
      this.lastPage = page;
    }
    const offset = index - number * PAGE_SIZE;
    const before = page.states[offset]!;
    page.states[offset] = state;
    if (before === FREE && state !== FREE) page.tracked++;
    else if (before !== FREE && state === FREE && --page.tracked === 0) {
      this.pages.delete(number);
      this.lastPage = undefined;
    }
  }

  private lookup(number: number): Page | undefined {
    const page = this.pages.get(number);
    this.lastNumber = number;
    this.lastPage = page;
    return page;
  }
}
