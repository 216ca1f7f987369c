"""The web_vitals benchmark's figures: p75 by nearest rank and CLS by session windows, as
Built for Shopify and web-vitals define them (the browser part runs only in `make bench`)."""

from bench.bench_web_vitals import cls_of, p75


def shift(at: float, value: float, *, recent_input: bool = False) -> dict:
    return {"startTime": at, "value": value, "hadRecentInput": recent_input}


def test_p75_is_the_smallest_sample_three_quarters_of_the_samples_are_at_or_below():
    # given twenty loads of 1..20 ms, shuffled
    samples = [
        float(n) for n in (7, 19, 3, 12, 20, 1, 15, 9, 16, 5, 11, 2, 18, 8, 14, 4, 17, 6, 13, 10)
    ]
    # then p75 is the 15th smallest
    assert p75(samples) == 15.0
    # and with four samples, the 3rd; with five, the 4th; with one, that one
    assert p75([40.0, 10.0, 30.0, 20.0]) == 30.0
    assert p75([50.0, 10.0, 40.0, 20.0, 30.0]) == 40.0
    assert p75([8.0]) == 8.0


def test_p75_of_no_samples_is_none():
    assert p75([]) is None


def test_cls_is_the_largest_session_window_not_the_sum_of_all_shifts():
    # given two bursts of shifts 2 s apart
    shifts = [shift(100, 0.125), shift(600, 0.125), shift(2600, 0.0625), shift(3000, 0.0625)]
    # then each burst is a window, and CLS is the larger one
    assert cls_of(shifts) == 0.25


def test_a_session_window_ends_after_five_seconds_even_without_a_gap():
    # given a shift every 900 ms for 5.4 s
    shifts = [shift(at, 0.125) for at in (0, 900, 1800, 2700, 3600, 4500, 5400)]
    # then the one at 5.4 s starts a new window: the first holds six
    assert cls_of(shifts) == 0.75


def test_a_gap_of_one_second_or_more_starts_a_new_window():
    # given shifts exactly 1 s apart
    shifts = [shift(0, 0.25), shift(1000, 0.25), shift(2000, 0.25)]
    # then each is its own window
    assert cls_of(shifts) == 0.25


def test_shifts_right_after_an_input_neither_count_nor_bridge_a_gap():
    # given a shift caused by a click between two others 1.2 s apart
    shifts = [shift(0, 0.125), shift(600, 0.5, recent_input=True), shift(1200, 0.0625)]
    # then the click's shift is left out, and the other two are in separate windows
    assert cls_of(shifts) == 0.125


def test_shifts_are_taken_in_time_order_and_none_is_zero():
    # given the observer's entries out of order
    shifts = [shift(1500, 0.25), shift(700, 0.25), shift(100, 0.125)]
    # then they form one window (gaps of 600 and 800 ms)
    assert cls_of(shifts) == 0.625
    assert cls_of([]) == 0.0
