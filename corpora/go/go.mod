module bpfcase.invalid/corpora/layouts

go 1.19
