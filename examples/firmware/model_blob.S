/* The embedded model: triage_model_blob .. triage_model_blob_end, 64-byte aligned, read-only. */
        .section .rodata
        .balign 64
        .global triage_model_blob
triage_model_blob:
        .incbin TRIAGE_MODEL_PATH
        .global triage_model_blob_end
triage_model_blob_end:
        .section .note.GNU-stack,"",%progbits
