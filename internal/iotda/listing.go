package iotda

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// MaxOffset is the largest offset a listing accepts: how many records after
// the marker a page may skip.
const MaxOffset = 500

// pageFetcher fetches the page of records that starts offset records after
// marker ("" for the newest) and returns it with the API's page block.
type pageFetcher[T any] func(ctx context.Context, marker string, offset int) (pageInfo, []T, error)

// listPages is the one paginator of the client: it reads every record of
// a listing, in the API's order, with the fewest calls and round trips it
// can.
//
// The first page says how many records there are (page.count). The other
// pages are then fetched Config.BatchParallelism at a time, all from one
// marker with the offsets 0, limit, 2*limit, ... (at most MaxOffset); the
// next round starts from the marker of the last page of the round. n
// records take ceil(n/limit) calls, as one page after another would, in
// 1 + ceil((ceil(n/limit)-1)/parallelism) round trips instead of
// ceil(n/limit).
//
// Offsets count records after the marker, so a record removed by someone
// else during a round would shift the later pages of the round and hide a
// record. The listing notices: it then ends with fewer records than the
// first page's count, or a page reports another count. It is then read
// again one page after another (rounds of one page), each from the marker
// of the one before, which no change can shift; such a listing ends at a
// short page or when the records reach the page's count. A listing whose
// first page has no count is read that way from the start.
//
// A full page must name the marker of the next, and no marker may come
// back twice (which would loop): either is an error rather than a silently
// short listing.
func listPages[T any](ctx context.Context, c *Client, fetch pageFetcher[T]) ([][]T, error) {
	first, records, err := fetch(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	pages := [][]T{records}
	if len(records) < c.pageSize {
		return pages, nil
	}
	parallel := first.Count > 0
	total := int64(len(records))
	marker := first.Marker
	seen := map[string]bool{}
	perMarker := MaxOffset/c.pageSize + 1
	for !parallel || total < first.Count {
		if err := nextMarker(seen, marker, c.pageSize); err != nil {
			return nil, err
		}
		k := 1
		if parallel {
			remaining := int(first.Count - total)
			k = min(c.parallelism, perMarker, (remaining+c.pageSize-1)/c.pageSize)
		}
		round, err := fetchRound(ctx, fetch, marker, k, c.pageSize)
		if err != nil {
			return nil, err
		}
		for _, r := range round {
			n := int64(len(r.records))
			// In a parallel round only the very last page may be short,
			// and only by the count: anything else means the records
			// changed. Read them again, one page after another.
			if parallel && (r.page.Count != first.Count || n < int64(c.pageSize) && total+n != first.Count) {
				parallel, pages, total, marker = false, pages[:1], int64(len(records)), first.Marker
				clear(seen)
				break
			}
			pages = append(pages, r.records)
			total += n
			marker = r.page.Marker
			if !parallel && (n < int64(c.pageSize) || r.page.Count > 0 && total >= r.page.Count) {
				return pages, nil
			}
		}
	}
	return pages, nil
}

type fetchedPage[T any] struct {
	page    pageInfo
	records []T
}

// fetchRound fetches k pages from one marker at once, with the offsets 0,
// limit, ..., (k-1)*limit. The first error cancels the other pages.
func fetchRound[T any](ctx context.Context, fetch pageFetcher[T], marker string, k, limit int) ([]fetchedPage[T], error) {
	out := make([]fetchedPage[T], k)
	g, ctx := errgroup.WithContext(ctx)
	for i := range k {
		g.Go(func() error {
			page, records, err := fetch(ctx, marker, i*limit)
			out[i] = fetchedPage[T]{page, records}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
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
