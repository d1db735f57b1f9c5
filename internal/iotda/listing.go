package iotda

import (
	"context"
	"fmt"
	"sync"
)

// MaxOffset is the largest offset a listing accepts: how many records after
// the marker a page may skip.
const MaxOffset = 500

// pageFetcher fetches the page of records that starts offset records after
// marker ("" for the newest) and returns it with the API's page block.
type pageFetcher[T any] func(ctx context.Context, marker string, offset int) (Page, []T, error)

// listPages reads every record of a listing, in the API's order, with the
// fewest calls and round trips it can.
//
// The first page says how many records there are (page.count). The other
// pages are then fetched Config.BatchParallelism at a time, all from one
// marker with the offsets 0, limit, 2*limit, ... (at most MaxOffset); the
// next round starts from the marker of the last page of the round. n
// records take ceil(n/limit) calls, as one page after another would, in
// 1 + ceil((ceil(n/limit)-1)/parallelism) round trips instead of
// ceil(n/limit).
//
// Offsets count records after the marker, so a target unbound by someone
// else during a round would shift the later pages of the round and hide a
// record. The listing notices: it then ends with fewer records than the
// first page's count, or a page reports another count. It is then read
// again one page after another, each from the marker of the one before,
// which no change can shift. A listing whose first page has no count is
// read that way from the start.
func listPages[T any](ctx context.Context, c *Client, fetch pageFetcher[T]) ([][]T, error) {
	first, records, err := fetch(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	pages := [][]T{records}
	if len(records) < c.pageSize {
		return pages, nil
	}
	if first.Count <= 0 {
		return listSequential(ctx, c, fetch, pages, first.Marker)
	}
	total := int64(len(records))
	marker := first.Marker
	seen := map[string]bool{}
	perMarker := MaxOffset/c.pageSize + 1
	for total < first.Count {
		if err := nextMarker(seen, marker, c.pageSize); err != nil {
			return nil, err
		}
		remaining := int(first.Count - total)
		k := min(c.parallelism, perMarker, (remaining+c.pageSize-1)/c.pageSize)
		round, err := fetchRound(ctx, fetch, marker, k, c.pageSize)
		if err != nil {
			return nil, err
		}
		for _, r := range round {
			// Only the very last page may be short, and only by the
			// count: anything else means the records changed.
			n := int64(len(r.records))
			if r.page.Count != first.Count || n < int64(c.pageSize) && total+n != first.Count {
				return listSequential(ctx, c, fetch, pages[:1], first.Marker)
			}
			pages = append(pages, r.records)
			total += n
			marker = r.page.Marker
		}
	}
	return pages, nil
}

type fetchedPage[T any] struct {
	page    Page
	records []T
}

// fetchRound fetches k pages from one marker at once, with the offsets 0,
// limit, ..., (k-1)*limit.
func fetchRound[T any](ctx context.Context, fetch pageFetcher[T], marker string, k, limit int) ([]fetchedPage[T], error) {
	out := make([]fetchedPage[T], k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			page, records, err := fetch(ctx, marker, i*limit)
			out[i], errs[i] = fetchedPage[T]{page, records}, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listSequential reads the pages after the given ones one after another,
// each from the marker of the one before, until a page comes back short or
// the records reach the page's count.
func listSequential[T any](ctx context.Context, c *Client, fetch pageFetcher[T], pages [][]T, marker string) ([][]T, error) {
	var total int64
	for _, p := range pages {
		total += int64(len(p))
	}
	seen := map[string]bool{}
	for {
		if err := nextMarker(seen, marker, c.pageSize); err != nil {
			return nil, err
		}
		page, records, err := fetch(ctx, marker, 0)
		if err != nil {
			return nil, err
		}
		pages = append(pages, records)
		total += int64(len(records))
		if len(records) < c.pageSize || page.Count > 0 && total >= page.Count {
			return pages, nil
		}
		marker = page.Marker
	}
}

// nextMarker checks the marker a listing is about to read from: a full page
// must name the next one, and no marker may come back twice (which would
// loop). It records the marker as seen.
func nextMarker(seen map[string]bool, marker string, pageSize int) error {
	switch {
	case marker == "":
		return fmt.Errorf("a full page of %d records came without a marker for the next page", pageSize)
	case seen[marker]:
		return fmt.Errorf("pagination returned marker %s twice", marker)
	}
	seen[marker] = true
	return nil
}
