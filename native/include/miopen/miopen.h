/*
 * boo: convolution subset of MIOpen's public C API.
 *
 * This header is written for the boo project.  It declares the handle,
 * tensor-descriptor and convolution entry points of MIOpen 3.x with the
 * same names, prototypes, enum values and struct layouts, so that code
 * built against it is ABI compatible with the vendor library
 * (libMIOpen.so.1).  It is implemented twice in this repository:
 *
 *   - native/reference/miopen_reference.c : host-memory reference library
 *   - the cffi LD_PRELOAD shim (boo_shim)  : forwards to the boo daemon
 *
 * Everything between the BOO_CDEF_BEGIN / BOO_CDEF_END marker lines is
 * plain C declarations only (no preprocessor directives, no macros), so it
 * can be handed verbatim to cffi's FFI.cdef().  Do not add macros there.
 *
 * Notes for implementers:
 *   - miopenAcceleratorQueue_t is hipStream_t, i.e. an opaque pointer.
 *   - alpha/beta arguments point to host scalars: float for half, bfloat16
 *     and float tensors, double for double tensors.
 *   - Tensor lengths are always given in logical N, C, (D,) H, W order;
 *     the memory layout is expressed through strides (or through the
 *     miopenTensorLayout_t of miopenSetNdTensorDescriptorWithLayout).
 */
#ifndef BOO_MIOPEN_MIOPEN_H_
#define BOO_MIOPEN_MIOPEN_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define MIOPEN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define MIOPEN_EXPORT __attribute__((visibility("default")))
#else
#define MIOPEN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The declarations below carry no attribute so that the cdef region stays
 * macro free; the pragma gives them default visibility, and the reference
 * implementation additionally marks each definition with MIOPEN_EXPORT. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/* BOO_CDEF_BEGIN */

/* ---- opaque objects -------------------------------------------------- */

typedef void* miopenAcceleratorQueue_t;

typedef struct miopenHandle_s* miopenHandle_t;
typedef struct miopenTensorDescriptor_s* miopenTensorDescriptor_t;
typedef struct miopenConvolutionDescriptor_s* miopenConvolutionDescriptor_t;

/* ---- enums ----------------------------------------------------------- */

typedef enum
{
    miopenStatusSuccess              = 0,
    miopenStatusNotInitialized       = 1,
    miopenStatusInvalidValue         = 2,
    miopenStatusBadParm              = 3,
    miopenStatusAllocFailed          = 4,
    miopenStatusInternalError        = 5,
    miopenStatusNotImplemented       = 6,
    miopenStatusUnknownError         = 7,
    miopenStatusUnsupportedOp        = 8,
    miopenStatusGpuOperationsSkipped = 9,
    miopenStatusVersionMismatch      = 10
} miopenStatus_t;

typedef enum
{
    miopenHalf     = 0,
    miopenFloat    = 1,
    miopenInt32    = 2,
    miopenInt8     = 3,
    miopenBFloat16 = 5,
    miopenDouble   = 6,
    miopenFloat8   = 7,
    miopenBFloat8  = 8
} miopenDataType_t;

typedef enum
{
    miopenTensorNCHW   = 0,
    miopenTensorNHWC   = 1,
    miopenTensorCHWN   = 2,
    miopenTensorNCHWc4 = 3,
    miopenTensorNCHWc8 = 4,
    miopenTensorCHWNc4 = 5,
    miopenTensorCHWNc8 = 6,
    miopenTensorNCDHW  = 7,
    miopenTensorNDHWC  = 8
} miopenTensorLayout_t;

typedef enum
{
    miopenConvolution = 0,
    miopenTranspose   = 1,
    miopenGroupConv   = 2,
    miopenDepthwise   = 3
} miopenConvolutionMode_t;

typedef enum
{
    miopenPaddingDefault = 0,
    miopenPaddingSame    = 1,
    miopenPaddingValid   = 2
} miopenPaddingMode_t;

typedef enum
{
    miopenConvolutionFwdAlgoGEMM         = 0,
    miopenConvolutionFwdAlgoDirect       = 1,
    miopenConvolutionFwdAlgoFFT          = 2,
    miopenConvolutionFwdAlgoWinograd     = 3,
    miopenConvolutionFwdAlgoImplicitGEMM = 5
} miopenConvFwdAlgorithm_t;

typedef enum
{
    miopenConvolutionBwdWeightsAlgoGEMM         = 0,
    miopenConvolutionBwdWeightsAlgoDirect       = 1,
    miopenConvolutionBwdWeightsAlgoWinograd     = 3,
    miopenConvolutionBwdWeightsAlgoImplicitGEMM = 5
} miopenConvBwdWeightsAlgorithm_t;

typedef enum
{
    miopenConvolutionBwdDataAlgoGEMM         = 0,
    miopenConvolutionBwdDataAlgoDirect       = 1,
    miopenConvolutionBwdDataAlgoFFT          = 2,
    miopenConvolutionBwdDataAlgoWinograd     = 3,
    miopenTransposeBwdDataAlgoGEMM           = 4,
    miopenConvolutionBwdDataAlgoImplicitGEMM = 5
} miopenConvBwdDataAlgorithm_t;

typedef enum
{
    miopenConvolutionAlgoGEMM         = 0,
    miopenConvolutionAlgoDirect       = 1,
    miopenConvolutionAlgoFFT          = 2,
    miopenConvolutionAlgoWinograd     = 3,
    miopenConvolutionAlgoImplicitGEMM = 5
} miopenConvAlgorithm_t;

/* ---- result structs -------------------------------------------------- */

/* Find-mode result: algorithm (one of three enums sharing storage),
 * measured time in ms and required workspace in bytes. */
typedef struct
{
    union
    {
        miopenConvFwdAlgorithm_t fwd_algo;
        miopenConvBwdWeightsAlgorithm_t bwd_weights_algo;
        miopenConvBwdDataAlgorithm_t bwd_data_algo;
    };
    float time;
    size_t memory;
} miopenConvAlgoPerf_t;

/* Immediate-mode solution description. */
typedef struct
{
    float time;
    size_t workspace_size;
    uint64_t solution_id;
    miopenConvAlgorithm_t algorithm;
} miopenConvSolution_t;

/* ---- handle ---------------------------------------------------------- */

const char* miopenGetErrorString(miopenStatus_t error);
miopenStatus_t miopenGetVersion(size_t* major, size_t* minor, size_t* patch);
miopenStatus_t miopenCreate(miopenHandle_t* handle);
miopenStatus_t miopenCreateWithStream(miopenHandle_t* handle, miopenAcceleratorQueue_t stream);
miopenStatus_t miopenDestroy(miopenHandle_t handle);
miopenStatus_t miopenSetStream(miopenHandle_t handle, miopenAcceleratorQueue_t streamID);
miopenStatus_t miopenGetStream(miopenHandle_t handle, miopenAcceleratorQueue_t* streamID);
miopenStatus_t miopenGetKernelTime(miopenHandle_t handle, float* time);
miopenStatus_t miopenEnableProfiling(miopenHandle_t handle, bool enable);

/* ---- tensor descriptors ---------------------------------------------- */

miopenStatus_t miopenCreateTensorDescriptor(miopenTensorDescriptor_t* tensorDesc);
miopenStatus_t miopenSet4dTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                           miopenDataType_t dataType,
                                           int n,
                                           int c,
                                           int h,
                                           int w);
miopenStatus_t miopenSetNdTensorDescriptorWithLayout(miopenTensorDescriptor_t tensorDesc,
                                                     miopenDataType_t dataType,
                                                     miopenTensorLayout_t tensorLayout,
                                                     const int* lens,
                                                     int num_lens);
miopenStatus_t miopenSet4dTensorDescriptorEx(miopenTensorDescriptor_t tensorDesc,
                                             miopenDataType_t dataType,
                                             int n,
                                             int c,
                                             int h,
                                             int w,
                                             int nStride,
                                             int cStride,
                                             int hStride,
                                             int wStride);
miopenStatus_t miopenGet4dTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                           miopenDataType_t* dataType,
                                           int* n,
                                           int* c,
                                           int* h,
                                           int* w,
                                           int* nStride,
                                           int* cStride,
                                           int* hStride,
                                           int* wStride);
miopenStatus_t miopenSetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                         miopenDataType_t dataType,
                                         int nbDims,
                                         const int* dimsA,
                                         const int* stridesA);
miopenStatus_t miopenGetTensorDescriptorSize(miopenTensorDescriptor_t tensorDesc, int* size);
miopenStatus_t miopenGetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                         miopenDataType_t* dataType,
                                         int* dimsA,
                                         int* stridesA);
miopenStatus_t miopenDestroyTensorDescriptor(miopenTensorDescriptor_t tensorDesc);
miopenStatus_t miopenGetTensorNumBytes(miopenTensorDescriptor_t tensorDesc, size_t* numBytes);

/* ---- convolution descriptors ----------------------------------------- */

miopenStatus_t miopenCreateConvolutionDescriptor(miopenConvolutionDescriptor_t* convDesc);
miopenStatus_t miopenInitConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                               miopenConvolutionMode_t c_mode,
                                               int pad_h,
                                               int pad_w,
                                               int stride_h,
                                               int stride_w,
                                               int dilation_h,
                                               int dilation_w);
miopenStatus_t miopenInitConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                 int spatialDim,
                                                 const int* padA,
                                                 const int* strideA,
                                                 const int* dilationA,
                                                 miopenConvolutionMode_t c_mode);
miopenStatus_t miopenGetConvolutionSpatialDim(miopenConvolutionDescriptor_t convDesc,
                                              int* spatialDim);
miopenStatus_t miopenGetConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                              miopenConvolutionMode_t* c_mode,
                                              int* pad_h,
                                              int* pad_w,
                                              int* stride_h,
                                              int* stride_w,
                                              int* dilation_h,
                                              int* dilation_w);
miopenStatus_t miopenGetConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                int requestedSpatialDim,
                                                int* spatialDim,
                                                int* padA,
                                                int* strideA,
                                                int* dilationA,
                                                miopenConvolutionMode_t* c_mode);
miopenStatus_t miopenGetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                              int* groupCount);
miopenStatus_t miopenSetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                              int groupCount);
miopenStatus_t miopenSetTransposeConvOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                   int adj_h,
                                                   int adj_w);
miopenStatus_t miopenSetTransposeConvNdOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                     int spatialDim,
                                                     const int* adjA);
miopenStatus_t miopenGetConvolutionForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                    const miopenTensorDescriptor_t inputTensorDesc,
                                                    const miopenTensorDescriptor_t filterDesc,
                                                    int* n,
                                                    int* c,
                                                    int* h,
                                                    int* w);
miopenStatus_t miopenGetConvolutionNdForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t inputTensorDesc,
                                                      const miopenTensorDescriptor_t filterDesc,
                                                      int* nDim,
                                                      int* outputTensorDimA);
miopenStatus_t miopenDestroyConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc);

/* ---- immediate mode: forward ----------------------------------------- */

miopenStatus_t miopenConvolutionForwardGetSolutionCount(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenTensorDescriptor_t xDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t yDesc,
                                                        size_t* solutionCount);
miopenStatus_t miopenConvolutionForwardGetSolution(miopenHandle_t handle,
                                                   const miopenTensorDescriptor_t wDesc,
                                                   const miopenTensorDescriptor_t xDesc,
                                                   const miopenConvolutionDescriptor_t convDesc,
                                                   const miopenTensorDescriptor_t yDesc,
                                                   const size_t maxSolutionCount,
                                                   size_t* solutionCount,
                                                   miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionForwardGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t wDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc,
                                                 const uint64_t solution_id,
                                                 size_t* workSpaceSize);
miopenStatus_t miopenConvolutionForwardCompileSolution(miopenHandle_t handle,
                                                       const miopenTensorDescriptor_t wDesc,
                                                       const miopenTensorDescriptor_t xDesc,
                                                       const miopenConvolutionDescriptor_t convDesc,
                                                       const miopenTensorDescriptor_t yDesc,
                                                       const uint64_t solution_id);
miopenStatus_t miopenConvolutionForwardImmediate(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t wDesc,
                                                 const void* w,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const void* x,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc,
                                                 void* y,
                                                 void* workSpace,
                                                 size_t workSpaceSize,
                                                 const uint64_t solution_id);

/* ---- immediate mode: backward data ----------------------------------- */

miopenStatus_t
miopenConvolutionBackwardDataGetSolutionCount(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* solutionCount);
miopenStatus_t miopenConvolutionBackwardDataGetSolution(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t dyDesc,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t dxDesc,
                                                        const size_t maxSolutionCount,
                                                        size_t* solutionCount,
                                                        miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionBackwardDataGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                      const miopenTensorDescriptor_t dyDesc,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc,
                                                      const uint64_t solution_id,
                                                      size_t* workSpaceSize);
miopenStatus_t
miopenConvolutionBackwardDataCompileSolution(miopenHandle_t handle,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const miopenTensorDescriptor_t wDesc,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             const miopenTensorDescriptor_t dxDesc,
                                             const uint64_t solution_id);
miopenStatus_t miopenConvolutionBackwardDataImmediate(miopenHandle_t handle,
                                                      const miopenTensorDescriptor_t dyDesc,
                                                      const void* dy,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const void* w,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc,
                                                      void* dx,
                                                      void* workSpace,
                                                      size_t workSpaceSize,
                                                      const uint64_t solution_id);

/* ---- immediate mode: backward weights -------------------------------- */

miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionCount(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* solutionCount);
miopenStatus_t
miopenConvolutionBackwardWeightsGetSolution(miopenHandle_t handle,
                                            const miopenTensorDescriptor_t dyDesc,
                                            const miopenTensorDescriptor_t xDesc,
                                            const miopenConvolutionDescriptor_t convDesc,
                                            const miopenTensorDescriptor_t dwDesc,
                                            const size_t maxSolutionCount,
                                            size_t* solutionCount,
                                            miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                         const miopenTensorDescriptor_t dyDesc,
                                                         const miopenTensorDescriptor_t xDesc,
                                                         const miopenConvolutionDescriptor_t convDesc,
                                                         const miopenTensorDescriptor_t dwDesc,
                                                         const uint64_t solution_id,
                                                         size_t* workSpaceSize);
miopenStatus_t
miopenConvolutionBackwardWeightsCompileSolution(miopenHandle_t handle,
                                                const miopenTensorDescriptor_t dyDesc,
                                                const miopenTensorDescriptor_t xDesc,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                const miopenTensorDescriptor_t dwDesc,
                                                const uint64_t solution_id);
miopenStatus_t
miopenConvolutionBackwardWeightsImmediate(miopenHandle_t handle,
                                          const miopenTensorDescriptor_t dyDesc,
                                          const void* dy,
                                          const miopenTensorDescriptor_t xDesc,
                                          const void* x,
                                          const miopenConvolutionDescriptor_t convDesc,
                                          const miopenTensorDescriptor_t dwDesc,
                                          void* dw,
                                          void* workSpace,
                                          size_t workSpaceSize,
                                          const uint64_t solution_id);

/* ---- find mode: forward ---------------------------------------------- */

miopenStatus_t miopenConvolutionForwardGetWorkSpaceSize(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenTensorDescriptor_t xDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t yDesc,
                                                        size_t* workSpaceSize);
miopenStatus_t miopenFindConvolutionForwardAlgorithm(miopenHandle_t handle,
                                                     const miopenTensorDescriptor_t xDesc,
                                                     const void* x,
                                                     const miopenTensorDescriptor_t wDesc,
                                                     const void* w,
                                                     const miopenConvolutionDescriptor_t convDesc,
                                                     const miopenTensorDescriptor_t yDesc,
                                                     void* y,
                                                     const int requestAlgoCount,
                                                     int* returnedAlgoCount,
                                                     miopenConvAlgoPerf_t* perfResults,
                                                     void* workSpace,
                                                     size_t workSpaceSize,
                                                     bool exhaustiveSearch);
miopenStatus_t miopenConvolutionForward(miopenHandle_t handle,
                                        const void* alpha,
                                        const miopenTensorDescriptor_t xDesc,
                                        const void* x,
                                        const miopenTensorDescriptor_t wDesc,
                                        const void* w,
                                        const miopenConvolutionDescriptor_t convDesc,
                                        miopenConvFwdAlgorithm_t algo,
                                        const void* beta,
                                        const miopenTensorDescriptor_t yDesc,
                                        void* y,
                                        void* workSpace,
                                        size_t workSpaceSize);
miopenStatus_t miopenConvolutionForwardBias(miopenHandle_t handle,
                                            const void* alpha,
                                            const miopenTensorDescriptor_t bDesc,
                                            const void* b,
                                            const void* beta,
                                            const miopenTensorDescriptor_t yDesc,
                                            void* y);

/* ---- find mode: backward data ---------------------------------------- */

miopenStatus_t
miopenConvolutionBackwardDataGetWorkSpaceSize(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* workSpaceSize);
miopenStatus_t
miopenFindConvolutionBackwardDataAlgorithm(miopenHandle_t handle,
                                           const miopenTensorDescriptor_t dyDesc,
                                           const void* dy,
                                           const miopenTensorDescriptor_t wDesc,
                                           const void* w,
                                           const miopenConvolutionDescriptor_t convDesc,
                                           const miopenTensorDescriptor_t dxDesc,
                                           void* dx,
                                           const int requestAlgoCount,
                                           int* returnedAlgoCount,
                                           miopenConvAlgoPerf_t* perfResults,
                                           void* workSpace,
                                           size_t workSpaceSize,
                                           bool exhaustiveSearch);
miopenStatus_t miopenConvolutionBackwardData(miopenHandle_t handle,
                                             const void* alpha,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const void* dy,
                                             const miopenTensorDescriptor_t wDesc,
                                             const void* w,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             miopenConvBwdDataAlgorithm_t algo,
                                             const void* beta,
                                             const miopenTensorDescriptor_t dxDesc,
                                             void* dx,
                                             void* workSpace,
                                             size_t workSpaceSize);

/* ---- find mode: backward weights ------------------------------------- */

miopenStatus_t
miopenConvolutionBackwardWeightsGetWorkSpaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* workSpaceSize);
miopenStatus_t
miopenFindConvolutionBackwardWeightsAlgorithm(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const void* dy,
                                              const miopenTensorDescriptor_t xDesc,
                                              const void* x,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dwDesc,
                                              void* dw,
                                              const int requestAlgoCount,
                                              int* returnedAlgoCount,
                                              miopenConvAlgoPerf_t* perfResults,
                                              void* workSpace,
                                              size_t workSpaceSize,
                                              bool exhaustiveSearch);
miopenStatus_t miopenConvolutionBackwardWeights(miopenHandle_t handle,
                                                const void* alpha,
                                                const miopenTensorDescriptor_t dyDesc,
                                                const void* dy,
                                                const miopenTensorDescriptor_t xDesc,
                                                const void* x,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                miopenConvBwdWeightsAlgorithm_t algo,
                                                const void* beta,
                                                const miopenTensorDescriptor_t dwDesc,
                                                void* dw,
                                                void* workSpace,
                                                size_t workSpaceSize);
miopenStatus_t miopenConvolutionBackwardBias(miopenHandle_t handle,
                                             const void* alpha,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const void* dy,
                                             const void* beta,
                                             const miopenTensorDescriptor_t dbDesc,
                                             void* db);

/* BOO_CDEF_END */

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* BOO_MIOPEN_MIOPEN_H_ */
