#!/usr/bin/perl
# Sisimai over the files named on the command line, one record a line in JSON on stdout (its own dump), as
# `bounce-analyzer analyze --format jsonl` does for ours. Used by bench/bench_compare.py.
use strict;
use warnings;
use Sisimai;

binmode STDOUT;
for my $file (@ARGV) {
    my $records = Sisimai->make($file, 'input' => 'email') || [];
    print $_->dump('json'), "\n" for @$records;
}
