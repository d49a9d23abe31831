require "include";
include :global :optional "sluice-test-no-such-global";
keep;
