# The agent with its embedded local models; nothing is downloaded at run time.
# docker build -t voice . && docker run --rm -v "$PWD:/out" voice talk --demo --out /out/reply.wav
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*

ENV HF_HUB_OFFLINE=1 \
    PIP_NO_CACHE_DIR=1 \
    CMAKE_BUILD_PARALLEL_LEVEL=2 \
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DLLAMA_CURL=OFF"

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY voice ./voice
COPY bench ./bench
COPY telephony ./telephony
RUN pip install -c constraints.txt . && voice doctor

ENTRYPOINT ["voice"]
CMD ["talk", "--demo", "--out", "/tmp/reply.wav"]
